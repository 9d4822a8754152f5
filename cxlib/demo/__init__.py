"""Seeded demo data for the ``demo`` client: every canonical table, with known answers.

:func:`generate` writes one folder (``data/demo`` by default, through the CLI) holding

* ``customers.csv`` (~2,000 customers in four segments: Young Professionals, Families,
  Value Seekers, Premium Loyalists; Saudi regions and cities; demographics, plan, preferred
  channel, payment method, language (~30 % Arabic), revenue = the sum of their orders,
  churned flag and churn date),
* ``orders.csv`` (~15k orders on web, app and store; web/app orders carry delivery days and
  ``late`` = delivery_days > 3),
* ``web_events.parquet`` (~25k sessions, ~100k events, ~60 % anonymous; each session's
  funnel events are a prefix of landing > product_view > add_to_cart > checkout_start >
  payment > purchase, interleaved with non-funnel pages such as ``help_page``),
* ``interactions.csv`` (~6k support contacts on the journey touchpoints phone_support,
  chat, store, email and delivery; ~80 % resolved),
* ``survey_responses.csv`` (a relationship NPS survey, ~740 a quarter, and transactional
  CSAT / CES (1-7, higher = easier) / importance surveys over all 11 journey touchpoints,
  ~1,250 a quarter; optional comments, ~25 % empty),
* ``verbatims.csv`` (every survey comment again, ~300 call and chat transcripts turn by
  turn, ~3,000 social mentions of Souqly, FastCart and MegaMart, ~200 app and product
  reviews; English and Arabic, with deliberate mess: empty texts, e-mail addresses, phone
  numbers, card numbers, HTML/script tags, mixed Arabic-English),
* ``codebook.csv`` (16 codes with English and Arabic regular expressions, written in the
  normalized form of :func:`normalize`; they catch most but not all phrasings and make a
  few false positives, so auto-coding accuracy is realistic),
* ``manual_codes.csv`` (200 verbatims stratified over sources and languages, coded by
  ``coder_a`` and ``coder_b``, each right ~90 % of the time),
* ``swot_inputs.csv`` (nine staff-workshop items),
* ``map_feedback.csv`` (eight staff and focus-group remarks on the drawn journey map: stage,
  touchpoint, agrees, an optional ``exists``, comment, role, source),
* ``verbatim_truth.csv`` (the true codes of every verbatim; an empty code = none applies)
  and ``truth.yml`` (planted parameters and the values measured on the files). The report
  never reads these two.

Everything is dated 2025-01-01 .. 2026-09-30 (seven quarters, 2025Q1 .. 2026Q3), except
signup dates, which start in 2023. The same seed gives byte-identical files.

Planted findings (``truth.yml`` -> ``findings`` holds the measured values):

1. **weak_important_touchpoint** - delivery has the highest mean stated importance (~4.8)
   and the lowest mean CSAT (~2.7) of the 11 touchpoints in every quarter.
2. **detractor_theme** - ``late_delivery`` is the code most over-represented in
   relationship-survey comments of detractors (0-6) versus promoters (9-10), by a wide
   margin (Fisher exact p << 0.001).
3. **segment_nps_drop** - Value Seekers' relationship NPS falls ~37 points from 2026Q2 to
   2026Q3 (quota-controlled per segment and quarter); other segments move < 10 points.
4. **device_abandonment** - mobile checkout abandonment (~0.56) is more than twice
   desktop's (~0.16) in every quarter.
5. **churn_signal** - customers with an unresolved interaction churn ~3x as often (~0.45
   vs ~0.15). Churn is a learnable process: a background hazard that rises for customers
   with worse experience (the same latent drivers that make detractors and high effort)
   and falls for Premium Loyalists, plus churn triggered 30-120 days after a first
   unresolved interaction; churners' orders and visits thin out and stop up to 90 days
   before their churn date (they keep answering surveys until they leave).
6. **competitor_threat** - FastCart's share of social mentions rises from 15 % (2025Q1)
   to 35 % (2026Q3), with a significant jump from 2026Q2 (25 %).
7. **store_strength** - the in-store touchpoint has the highest mean CSAT (~4.6) and
   above-average importance.

The journey method's evidence (issue 15; drawn from a second random stream after the main one,
so the seven findings above keep their values except where noted):

8. **repeat_order_status** - every contact has a ``reason``; a contact about ``order_status``
   is followed by another within 0.5-6 days ~45 % of the time, so ~43 % of order-status
   contacts are repeated within 7 days against ~9 % for other reasons (the customer lacks
   the right information at the right time).
9. **transfer_heavy_support** - contacts carry ``department`` and ``transfers``; from
   2026-07-01 (a new phone menu) 55 % of phone-support contacts are transferred between
   departments (12 % before; other touchpoints 3-8 %): all contacts ~9 % in 2026Q2, ~24 %
   in 2026Q3 (the customer does not know whom to contact; many departments confuse). Half
   of the phone-support survey responses from then score one CSAT point lower (~3.8 to
   ~3.3, Welch p < 0.01): what the living map reports as changed since 2026Q2.
10. **checkout_information** - ~20 % of checkout sessions leave for the help or returns page
    right after checkout starts (5 % desktop, 20 % mobile, 12 % tablet beyond chance), and
    40 % of those stop there: abandonment ~0.61 after such a detour against ~0.36 (too
    little information at checkout). Desktop checkout abandonment rises ~0.02.
11. **churn_path** - 75 % of the churners whose churn an unresolved contact triggered got a
    late delivery 2-20 days after it: "an unresolved contact, then a late delivery within
    30 days" (in the 180 days before churn) churns ~84 % of customers, lift ~3.5.
12. **map_feedback** - staff name a WhatsApp touchpoint the data never sees, say e-mail is
    not a touchpoint although the data sees it, and dispute phone support (transfers "are
    rare") and checkout ("explains fees and returns clearly") where the data says otherwise.

The codebook's ``question`` column tags negative codes with the method's question they bear on.

Relationship NPS depends on latent per-customer experience of each touchpoint (delivery
weighs most, then store), so a key-driver analysis of NPS on touchpoint CSAT finds
delivery; segment and quarter effects enter through per-cell quotas of promoters and
detractors.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

# --- constants -----------------------------------------------------------------------------

SPAN_START = pd.Timestamp("2025-01-01")
SPAN_END = pd.Timestamp("2026-09-30 23:59:59")
QUARTERS = [str(p) for p in pd.period_range("2025Q1", "2026Q3", freq="Q")]
BRAND = "Souqly"
COMPETITORS = ["FastCart", "MegaMart"]
BRAND_AR = {"Souqly": "سوقلي", "FastCart": "فاست كارت", "MegaMart": "ميجا مارت"}
SEGMENTS = ["Young Professionals", "Families", "Value Seekers", "Premium Loyalists"]
TOUCHPOINTS = [
    "web_search", "social_media", "website", "app", "store", "checkout",
    "delivery", "product", "phone_support", "chat", "email",
]
FUNNEL = ["landing", "product_view", "add_to_cart", "checkout_start", "payment", "purchase"]
EXTRA_PAGES = ["search", "category_page", "help_page", "account_page", "returns_policy"]
DEVICES = ["desktop", "mobile", "tablet"]
SOURCES_WEB = ["organic", "paid_search", "social", "email", "direct"]
N_CUSTOMERS = 2000
N_SESSIONS = 25_000
N_RELATIONSHIP = 740  # relationship responses per quarter
N_TRANSACTIONAL = 1250  # transactional responses per quarter
N_CONVERSATIONS = 300
N_REVIEWS = 200
SOCIAL_PER_QUARTER = [360, 380, 400, 420, 450, 470, 520]

#: planted per-touchpoint means: CSAT latent (1-5 scale), stated importance, TX sample weight
TP_CSAT = {
    "web_search": 4.0, "social_media": 3.85, "website": 4.0, "app": 3.9, "store": 4.85,
    "checkout": 3.75, "delivery": 2.75, "product": 4.15, "phone_support": 3.7, "chat": 3.8,
    "email": 3.75,
}
TP_IMPORTANCE = {
    "web_search": 3.1, "social_media": 2.7, "website": 3.7, "app": 3.8, "store": 4.15,
    "checkout": 4.2, "delivery": 5.05, "product": 4.3, "phone_support": 3.9, "chat": 3.6,
    "email": 2.6,
}
TP_WEIGHT = {tp: 1.0 for tp in TOUCHPOINTS} | {"delivery": 2.0, "store": 1.4}
#: weight of each touchpoint's latent experience in relationship NPS
NPS_DRIVER_WEIGHT = {
    "web_search": 0.05, "social_media": 0.05, "website": 0.15, "app": 0.2, "store": 0.6,
    "checkout": 0.3, "delivery": 1.0, "product": 0.4, "phone_support": 0.3, "chat": 0.2,
    "email": 0.1,
}
#: (promoter share, detractor share) per segment and quarter for the relationship survey
NPS_QUOTA: dict[str, list[tuple[float, float]]] = {
    "Young Professionals": [(0.44 + 0.004 * q, 0.22 - 0.002 * q) for q in range(7)],
    "Families": [(0.40, 0.25 - 0.003 * q) for q in range(7)],
    "Value Seekers": [(0.38, 0.24)] * 6 + [(0.22, 0.45)],
    "Premium Loyalists": [(0.60 + 0.003 * q, 0.11) for q in range(7)],
}
FASTCART_SHARE = [0.15, 0.17, 0.19, 0.21, 0.23, 0.25, 0.35]
MEGAMART_SHARE = 0.22
#: churn process (see the module notes): background hazard per year, log-hazard slopes on the
#: standardised latent NPS driver and overall experience (effort), segment multipliers, the
#: chance that an unresolved interaction triggers churn 30-120 days later
CHURN_HAZARD = {"base_per_year": 0.075, "nps_driver": 0.8, "effort": 0.3,
                "segment": [1.0, 0.9, 1.2, 0.5], "after_unresolved": 0.45}
CHURN_LAG_DAYS = (30, 120)  # churn date after the triggering unresolved interaction
CHURN_QUIET_DAYS = (0, 90)  # other churners go quiet up to this long before their churn date
CHURN_TAPER_DAYS = 60  # activity thins to nothing over this many days before going quiet
CHECKOUT_CONTINUE = {"desktop": (0.90, 0.93), "mobile": (0.56, 0.80), "tablet": (0.78, 0.88)}

# --- codebook and text templates -----------------------------------------------------------

#: code -> (theme, valence, description, patterns_en, patterns_ar)
CODEBOOK: dict[str, tuple[str, str, str, str, str]] = {
    "late_delivery": ("Delivery", "negative", "Order arrived late or has not arrived yet",
                      r"\blate\b|delay|overdue|past the promised date|still waiting for (my|the) (delivery|order|parcel)",
                      "تاخر|تاخير|متاخر|يتاخر|تتاخر|ما وصل|لم يصل"),
    "damaged_item": ("Delivery", "negative", "Item arrived damaged or broken",
                     r"damag|broken|crushed|cracked|smashed",
                     "مكسور|تالف|متضرر|خربان|انكسر"),
    "delivery_fast": ("Delivery", "positive", "Fast, on-time or same/next-day delivery",
                      r"\bfast(er)?\b|quick|next[- ]day|same[- ]day|within 24 hours|earlier than expected",
                      "سريع|بسرعه|ثاني يوم|نفس اليوم|اليوم التالي"),
    "rude_staff": ("Staff", "negative", "Rude, dismissive or disrespectful staff",
                   r"rude|unfriendly|impolite|disrespect|dismissive|hung up",
                   r"وقح|تعامل الموظفين سيء|تعامل سيء|ما كان\w* محترم|غير محترم|قليل ادب|سكر الخط"),
    "helpful_staff": ("Staff", "positive", "Helpful, friendly, patient staff",
                      r"helpful|friendly|patient|\bkind\b|above and beyond|\bpolite",
                      "متعاون|لطيف|راقي|خدوم|محترم"),
    "long_wait": ("Support", "negative", "Long waits on hold, in queues or chat",
                  r"on hold|queue|wait(ing)? time|waited (ages|forever|so long)|long wait",
                  "انتظار|انتظرت|على الخط|طابور"),
    "issue_unresolved": ("Support", "negative", "Problem or refund not resolved",
                         r"not (solved|resolved|fixed)|unresolved|without fixing|(nobody|no one) could (resolve|fix|solve)|could(n't| not) (resolve|fix|solve)|no refund",
                         "ما انحل|ما حلوا|بدون حل|لم تحل|لم يتم حل"),
    "app_crash": ("Digital", "negative", "App crashes, freezes or closes",
                  r"crash|freez|closes by itself|app (is )?not working",
                  "يعلق|تعليق|يقفل|يطلعني|كراش"),
    "checkout_problem": ("Digital", "negative", "Payment or checkout fails",
                         r"checkout|payment failed|card (was )?declined|promo code",
                         "الدفع|انرفضت|كود الخصم|اتمام الطلب"),
    "easy_to_use": ("Digital", "positive", "Website, app or checkout easy to use",
                    r"easy to (use|navigate)|user[- ]friendly|smooth|simple",
                    "سهل|سلس|واضح"),
    "price_high": ("Price", "negative", "Prices or fees too high",
                   r"expensive|overpriced|prices? went up|too high|costs? more|cheaper elsewhere|pricey",
                   "غالي|الاسعار زادت|ارتفاع الاسعار|مبالغ فيه|مبالغ فيها|سعر عالي|اسعار عاليه"),
    "good_value": ("Price", "positive", "Good prices, offers and value for money",
                   r"good value|value for money|worth (it|the money)|great prices?|good (offers|deals|prices?)|discount|cheaper than",
                   "عروض|خصم|خصوم|مقابل السعر|اسعار ممتازه|سعر مناسب|اسعار مناسبه"),
    "store_experience": ("Store", "positive", "Pleasant, clean, well organised store",
                         r"\bstores?\b|branch|in-store",
                         "فرع|المعرض|المحل"),
    "product_quality_bad": ("Product", "negative", "Poor product quality",
                            r"poor quality|quality is poor|low quality|stopped working|fell apart|nothing like the (photos|pictures)|cheap material",
                            "جوده سيئه|رديء|رديئ|ما يشبه الصور|خربت"),
    "product_quality_good": ("Product", "positive", "Good product quality",
                             r"(excellent|great|top|high|good) quality|quality is (excellent|great|good)|well made|as described",
                             "جوده ممتازه|جوده عاليه|مثل الوصف|طازج"),
    "competitor_switch": ("Competition", "neutral", "Switching or thinking of switching to a competitor",
                          r"switch(ing|ed)? to|moving to|move to|going elsewhere|cancel+ed my (plan|membership|subscription)",
                          "بحول|احول|انتقل|الغيت اشتراكي|الغيت العضويه"),
}

#: code -> language -> templates. A leading "~" marks a phrasing the patterns miss (drawn
#: less often); {n} days, {m} minutes, {agent} name are filled in.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "late_delivery": {
        "en": ["My order arrived {n} days late.",
               "Delivery was late again, I waited almost a week.",
               "The parcel was delayed and nobody told me why.",
               "Still waiting for my delivery, it is way past the promised date.",
               "Late delivery every single time, please fix your couriers.",
               "~It took forever for the package to show up.",
               "~The courier never came on the day they promised."],
        "ar": ["الطلب وصل متأخر {n} أيام عن الموعد.",
               "التوصيل تأخر كثير وما أحد رد علي.",
               "طلبي ما وصل لين الحين مع إنهم وعدوني بيومين.",
               "الشحنة تأخّرت عن الموعد المحدد للمرة الثانية.",
               "~صار لي أسبوع أنتظر الشحنة ولا فيه أي تحديث."],
    },
    "damaged_item": {
        "en": ["The box arrived crushed and the item inside was broken.",
               "My order came damaged, I had to send it back.",
               "The screen was cracked when I opened the package.",
               "Item arrived broken, very disappointed.",
               "~Half the groceries were squashed in the bag."],
        "ar": ["المنتج وصل مكسور.",
               "الكرتون كان تالف والجهاز فيه خدوش.",
               "وصلتني الطلبية متضررة ومفتوحة.",
               "~الشاشة مشروخة من أول يوم."],
    },
    "delivery_fast": {
        "en": ["Delivery was super fast, it arrived the next day.",
               "Got my order within 24 hours, impressive.",
               "Quick delivery and the driver was polite.",
               "It arrived earlier than expected, not late at all.",
               "Same-day delivery, you can't beat that.",
               "~The courier turned up before I even got home from work."],
        "ar": ["التوصيل كان سريع جداً.",
               "وصل الطلب ثاني يوم، ممتاز.",
               "وصلني الطلب بنفس اليوم، شكراً.",
               "~الطلب وصل قبل الموعد بيومين."],
    },
    "rude_staff": {
        "en": ["The agent was rude and hung up on me.",
               "Staff at the counter were unfriendly and dismissive.",
               "The person on the phone was very impolite.",
               "The cashier rolled her eyes and was disrespectful.",
               "~Nobody in the store cared, they just ignored me."],
        "ar": ["الموظف كان وقح وسكّر الخط في وجهي.",
               "تعامل الموظفين سيء جداً.",
               "الموظفة ما كانت محترمة أبداً.",
               "~الكاشير كان يكلمني بطريقة مو حلوة."],
    },
    "helpful_staff": {
        "en": ["The agent was really helpful and sorted it out in minutes.",
               "Friendly staff who know their products.",
               "{agent} on the chat was patient and kind.",
               "Big thanks to the team member who went above and beyond.",
               "~The support person explained everything clearly."],
        "ar": ["الموظف كان متعاون جداً وحل مشكلتي في دقايق.",
               "شكراً لخدمة العملاء على التعامل الراقي.",
               "الموظفة كانت لطيفة وصبورة معي.",
               "فريق الفرع محترم ويعرف شغله.",
               "~الموظف شرح لي كل شي بوضوح."],
    },
    "long_wait": {
        "en": ["I was on hold for {m} minutes before anyone answered.",
               "Waited ages in the chat queue.",
               "The wait time on the hotline is ridiculous.",
               "Long queue at customer service again.",
               "~It took forty minutes to reach a human."],
        "ar": ["انتظرت على الخط {m} دقيقة.",
               "الانتظار في خدمة العملاء طويل جداً.",
               "ما أحد يرد على المكالمات، انتظار بلا فايدة.",
               "~قعدت ساعة عشان أكلم موظف."],
    },
    "issue_unresolved": {
        "en": ["My problem is still not solved after three calls.",
               "They closed my ticket without fixing anything.",
               "Nobody could resolve my refund issue.",
               "Still no refund, the issue remains unresolved.",
               "~I called again and again and got nowhere."],
        "ar": ["مشكلتي للحين ما انحلت.",
               "اتصلت ثلاث مرات وما حلوا المشكلة.",
               "قفلوا البلاغ بدون حل.",
               "~لسه ما رجعوا لي فلوسي."],
    },
    "app_crash": {
        "en": ["The app keeps crashing when I open my orders.",
               "The app freezes on the payment screen.",
               "After the latest update the app closes by itself.",
               "The app crashed twice while I was browsing.",
               "~I can't even log in to the app anymore."],
        "ar": ["التطبيق يعلق كل شوي.",
               "التطبيق يطلعني برا فجأة.",
               "بعد التحديث الأخير صار التطبيق يقفل لحاله.",
               "~التطبيق ثقيل وما يفتح معي."],
    },
    "checkout_problem": {
        "en": ["Payment failed three times at checkout.",
               "The checkout page would not accept my card.",
               "I couldn't apply the promo code at checkout.",
               "My card was declined even though it works everywhere else.",
               "~The OTP never arrived so I couldn't pay."],
        "ar": ["الدفع ما يمشي في صفحة الطلب.",
               "البطاقة انرفضت وقت الدفع.",
               "كود الخصم ما اشتغل عند الدفع.",
               "~ما وصلني رمز التحقق فما قدرت أكمل الطلب."],
    },
    "easy_to_use": {
        "en": ["The app is easy to use and looks great.",
               "Paying was smooth, done in a minute.",
               "Very simple website, easy to navigate.",
               "Finding what I need on the site is simple.",
               "~Everything I need is two taps away."],
        "ar": ["التطبيق سهل الاستخدام.",
               "الموقع واضح وسلس.",
               "الشراء كان سهل وما أخذ دقيقة.",
               "~كل شي بضغطة زر."],
    },
    "price_high": {
        "en": ["Prices went up again, it's too expensive for me now.",
               "The delivery fees are too high.",
               "Everything costs more here than at other shops.",
               "I can find the same items cheaper elsewhere.",
               "~Honestly not worth the money anymore."],
        "ar": ["الأسعار غالية مرة.",
               "الأسعار زادت كثير هالفترة.",
               "رسوم التوصيل مبالغ فيها.",
               "~صرت أدفع أكثر على نفس الأغراض."],
    },
    "good_value": {
        "en": ["Great prices and good offers every week.",
               "Good value for money.",
               "The discounts are really worth it.",
               "Cheaper than other shops for the same brands.",
               "~I save a lot with the loyalty points."],
        "ar": ["الأسعار ممتازة والعروض حلوة.",
               "قيمة ممتازة مقابل السعر.",
               "الخصومات تستاهل.",
               "~أوفر من غيرهم بصراحة."],
    },
    "store_experience": {
        "en": ["The store is clean and well organised.",
               "I love shopping at the branch, everything is easy to find.",
               "The new store layout is great.",
               "Great in-store experience and short lines at the tills.",
               "~Visiting the showroom was a real pleasure."],
        "ar": ["الفرع نظيف ومرتب.",
               "تجربة التسوق في المعرض ممتازة.",
               "المحل منظم وكل شي سهل تلقاه.",
               "~الموظفين عند الكاشير سريعين والمكان مرتب."],
    },
    "product_quality_bad": {
        "en": ["The quality is poor, it stopped working after a week.",
               "Cheap material, it fell apart quickly.",
               "The product looks nothing like the photos.",
               "Low quality, I returned it.",
               "~The blender died after two uses."],
        "ar": ["الجودة سيئة وخربت بعد أسبوع.",
               "المنتج ما يشبه الصور أبداً.",
               "الخامة رديئة.",
               "~القطعة انكسرت من أول استعمال."],
    },
    "product_quality_good": {
        "en": ["Excellent quality, exactly as described.",
               "The products are well made and last long.",
               "Fresh produce, always top quality.",
               "Really good quality for everyday things.",
               "~My kids love the toys, sturdy and safe."],
        "ar": ["الجودة ممتازة.",
               "المنتج مثل الوصف بالضبط.",
               "الخضار طازجة دايماً.",
               "~الجهاز شغال بدون أي مشاكل."],
    },
    "competitor_switch": {
        "en": ["I'm moving to FastCart, they deliver faster.",
               "Thinking of switching to MegaMart.",
               "I'll switch to FastCart, their prices are better.",
               "I cancelled my membership and I'm going elsewhere.",
               "~All my friends use another app now."],
        "ar": ["بحوّل على فاست كارت، توصيلهم أسرع.",
               "أفكر أنتقل لميجا مارت.",
               "ألغيت اشتراكي ورحت لمتجر ثاني.",
               "~صرت أطلب من غيرهم."],
    },
}
#: Arabic sentences with English words, as customers write them (language "ar")
MIXED: dict[str, list[str]] = {
    "late_delivery": ["الطلب late ثلاث أيام، مو معقول."],
    "app_crash": ["التطبيق crash كل ما أفتح السلة."],
    "good_value": ["العروض هذا الأسبوع great value."],
    "checkout_problem": ["الـ checkout ما يشتغل من الجوال."],
}
GENERIC = {
    "en": ["All good.", "Nothing to add.", "Keep it up.", "Average experience overall.", "Thanks."],
    "ar": ["كل شي تمام.", "ما عندي إضافة.", "شكراً لكم.", "تجربة عادية."],
}
AGENT_NAMES = ["Sara", "Omar", "Lina", "Khalid", "Noura", "Faisal"]
AGENT_LINES = {
    "en": {
        "greeting": ["Thank you for contacting Souqly, my name is {agent}. How can I help you today?",
                     "Hello, this is {agent} from Souqly customer care. What can I do for you?"],
        "probe": ["Could you share your order number, please?",
                  "I'm sorry to hear that. Let me check the order for you.",
                  "I'm sorry about the delay, one moment while I look into it.",
                  "Thank you for waiting, I can see the order in our system."],
        "fix": ["I have arranged a replacement and a refund of the delivery fee.",
                "It is sorted now, you will receive a confirmation by SMS."],
        "escalate": ["I have escalated this to the logistics team, they will call you back.",
                     "I've raised a ticket, our specialist team will get back to you within 48 hours."],
        "closing": ["Is there anything else I can help you with?",
                    "Thank you for your patience, have a good day."],
    },
    "ar": {
        "greeting": ["أهلاً بك في سوقلي، معك {agent}. كيف أقدر أخدمك؟",
                     "مساء الخير، معك {agent} من خدمة عملاء سوقلي."],
        "probe": ["ممكن رقم الطلب لو سمحت؟",
                  "نعتذر عن الإزعاج، خلني أتحقق من الطلب.",
                  "شكراً على انتظارك، الطلب ظاهر عندي في النظام."],
        "fix": ["رتبت لك استبدال المنتج واسترجاع رسوم التوصيل.",
                "تم حل الطلب، بتوصلك رسالة تأكيد."],
        "escalate": ["رفعت البلاغ لفريق الشحن وبيتواصلون معك.",
                     "سجلت لك تذكرة وبيرد عليك الفريق المختص خلال ٤٨ ساعة."],
        "closing": ["فيه شي ثاني أقدر أساعدك فيه؟", "شكراً لتواصلك، يومك سعيد."],
    },
}
CUSTOMER_FILLER = {
    "en": ["Yes, it's order {order}.", "Okay, thank you.", "Fine, I'll wait then.",
           "Hi, I'm calling about order {order}."],
    "ar": ["أيوه، رقم الطلب {order}.", "طيب، شكراً.", "تمام، بانتظركم.",
           "السلام عليكم، عندي مشكلة في طلب رقم {order}."],
}
SOCIAL_FORMATS = {
    "en": ["@{b} {s}", "{s} #{b}", "{b}: {s}", "{s} @{b}"],
    "ar": ["{b}: {s}", "{s} #{b}", "@{b} {s}"],
}

# relationship-comment code weights by NPS category ("" = a generic comment, no code)
REL_CODE_WEIGHTS: dict[str, dict[str, float]] = {
    "detractor": {"late_delivery": 0.42, "damaged_item": 0.07, "long_wait": 0.08,
                  "issue_unresolved": 0.08, "rude_staff": 0.04, "app_crash": 0.05,
                  "checkout_problem": 0.05, "price_high": 0.07, "product_quality_bad": 0.05,
                  "competitor_switch": 0.04, "": 0.05},
    "passive": {"late_delivery": 0.10, "price_high": 0.12, "good_value": 0.12,
                "delivery_fast": 0.08, "long_wait": 0.06, "app_crash": 0.04,
                "product_quality_good": 0.08, "store_experience": 0.08, "helpful_staff": 0.06,
                "easy_to_use": 0.06, "checkout_problem": 0.04, "": 0.16},
    "promoter": {"delivery_fast": 0.20, "helpful_staff": 0.15, "good_value": 0.15,
                 "store_experience": 0.18, "product_quality_good": 0.12, "easy_to_use": 0.08,
                 "late_delivery": 0.02, "": 0.10},
}
#: transactional-comment codes per touchpoint: (negative codes, positive codes)
TP_CODES: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "delivery": ({"late_delivery": 0.65, "damaged_item": 0.35}, {"delivery_fast": 1.0}),
    "store": ({"rude_staff": 0.5, "long_wait": 0.3, "price_high": 0.2},
              {"store_experience": 0.6, "helpful_staff": 0.4}),
    "phone_support": ({"long_wait": 0.45, "issue_unresolved": 0.35, "rude_staff": 0.2},
                      {"helpful_staff": 1.0}),
    "chat": ({"long_wait": 0.4, "issue_unresolved": 0.4, "rude_staff": 0.2}, {"helpful_staff": 1.0}),
    "app": ({"app_crash": 0.7, "checkout_problem": 0.3}, {"easy_to_use": 1.0}),
    "website": ({"checkout_problem": 0.6, "price_high": 0.4}, {"easy_to_use": 0.7, "good_value": 0.3}),
    "checkout": ({"checkout_problem": 1.0}, {"easy_to_use": 1.0}),
    "product": ({"product_quality_bad": 0.8, "damaged_item": 0.2}, {"product_quality_good": 1.0}),
    "email": ({"price_high": 0.7, "competitor_switch": 0.3}, {"good_value": 1.0}),
    "web_search": ({"price_high": 0.6, "competitor_switch": 0.4},
                   {"good_value": 0.6, "easy_to_use": 0.4}),
    "social_media": ({"price_high": 0.5, "competitor_switch": 0.5},
                     {"good_value": 0.7, "product_quality_good": 0.3}),
}
SOCIAL_CODE_WEIGHTS: dict[str, dict[str, float]] = {
    "Souqly": {"late_delivery": 0.25, "price_high": 0.10, "app_crash": 0.08, "damaged_item": 0.05,
               "long_wait": 0.05, "rude_staff": 0.03, "delivery_fast": 0.08, "good_value": 0.10,
               "store_experience": 0.06, "product_quality_good": 0.05, "helpful_staff": 0.03,
               "": 0.12},
    "FastCart": {"delivery_fast": 0.35, "good_value": 0.20, "easy_to_use": 0.10,
                 "late_delivery": 0.05, "price_high": 0.05, "": 0.25},
    "MegaMart": {"good_value": 0.25, "price_high": 0.15, "store_experience": 0.15,
                 "late_delivery": 0.10, "": 0.35},
}
SWOT_ITEMS = [
    ("S1", "strength", "Customers regularly praise the new branch layouts and the quick tills.", "Store manager"),
    ("S2", "strength", "Premium members order weekly and respond well to personal offers.", "CRM analyst"),
    ("W1", "weakness", "Couriers in Riyadh and Jeddah often miss the promised delivery slot; customers call us to chase orders.", "Logistics supervisor"),
    ("W2", "weakness", "On mobile the card form resets when the OTP screen opens, so customers have to start checkout again.", "Digital product owner"),
    ("W3", "weakness", "Agents cannot issue refunds themselves, so tickets bounce between teams and stay open.", "Contact centre team lead"),
    ("O1", "opportunity", "Customers keep asking for same-day delivery and click-and-collect from our stores.", "Store manager"),
    ("O2", "opportunity", "Arabic-speaking customers want WhatsApp support in Arabic.", "Contact centre agent"),
    ("T1", "threat", "FastCart advertises next-day delivery with free returns in our main cities.", "Marketing manager"),
    ("T2", "threat", "Price-sensitive customers compare our basket prices with MegaMart promotions every week.", "Category manager"),
]

# --- the journey method's evidence (issue 15) --------------------------------------------------
#: the mapping method's questions (cxlib.journey.questions) each negative code bears on
CODE_QUESTIONS = {
    "late_delivery": "knows_what_to_expect", "damaged_item": "works_as_intended",
    "long_wait": "efficient", "issue_unresolved": "efficient;organised",
    "app_crash": "works_as_intended", "checkout_problem": "works_as_intended;easy_to_follow",
    "product_quality_bad": "works_as_intended",
}
#: contact reasons per support touchpoint (weights) and the department that answers each reason
CONTACT_REASONS = {
    "phone_support": {"order_status": 0.30, "delivery_problem": 0.12, "refund": 0.15, "product_question": 0.13,
                      "payment": 0.10, "account": 0.12, "complaint": 0.08},
    "chat": {"order_status": 0.30, "delivery_problem": 0.10, "refund": 0.15, "product_question": 0.17,
             "payment": 0.10, "account": 0.12, "complaint": 0.06},
    "delivery": {"order_status": 0.55, "delivery_problem": 0.45},
    "store": {"product_question": 0.35, "refund": 0.30, "payment": 0.15, "complaint": 0.20},
    "email": {"refund": 0.30, "account": 0.30, "complaint": 0.20, "order_status": 0.20},
}
REASON_DEPARTMENT = {"order_status": "Logistics", "delivery_problem": "Logistics", "refund": "Finance",
                     "payment": "Finance", "product_question": "Merchandising", "account": "Customer service",
                     "complaint": "Customer service"}
#: a contact about order status is followed by another one 0.5-6 days later with these chances
#: (a first and a second follow-up): customers chase orders they have no news of
ORDER_STATUS_FOLLOW_UP = (0.45, 0.25)
FOLLOW_UP_DAYS = (0.5, 6.0)
#: share of contacts transferred between departments: before, and from TRANSFER_CHANGE (a new
#: phone menu sends callers to the wrong team)
TRANSFER_SHARE = {"phone_support": (0.12, 0.55), "chat": (0.06, 0.06), "store": (0.03, 0.03),
                  "email": (0.08, 0.08), "delivery": (0.08, 0.08)}
TRANSFER_CHANGE = pd.Timestamp("2026-07-01")
#: from TRANSFER_CHANGE, this share of phone-support survey responses score one point lower (CSAT)
PHONE_MENU_CSAT_DROP = 0.5
#: most churners whose churn an unresolved contact triggered got a late delivery 2-20 days after it
LATE_AFTER_UNRESOLVED = {"share": 0.75, "days": (2, 20), "delivery_days": (5, 9)}
#: some checkout sessions leave for a help or returns page right after checkout starts (the
#: checkout, above all on a phone's small screen, does not say enough about fees and returns),
#: and many of those never pay
CHECKOUT_DETOUR = {"share": {"desktop": 0.05, "mobile": 0.20, "tablet": 0.12},
                   "pages": {"help_page": 0.6, "returns_policy": 0.4}, "abandon": 0.4}
#: staff and focus-group feedback on the drawn map (method step 6): item, stage, touchpoint,
#: agrees with the map, says the touchpoint exists, comment, role, source
MAP_FEEDBACK = [
    ("F1", "receive", "delivery", True, None, "Matches what we hear every day: couriers miss the promised slot.",
     "Logistics supervisor", "Staff workshop 2026-09"),
    ("F2", "buy", "store", True, None, "Customers like the new branch layout; the map is right about the stores.",
     "Store manager", "Staff workshop 2026-09"),
    ("F3", "support", "phone_support", False, None,
     "Transfers are rare: the new phone menu sends callers straight to the right team.",
     "Contact centre team lead", "Staff workshop 2026-09"),
    ("F4", "buy", "checkout", False, None,
     "Checkout explains delivery fees and returns clearly; customers do not need help there.",
     "Digital product owner", "Staff workshop 2026-09"),
    ("F5", "support", "whatsapp", False, True,
     "Many customers message us on WhatsApp every day, and the map does not show it.",
     "Contact centre agent", "Staff workshop 2026-09"),
    ("F6", "renew", "email", False, False,
     "Customers no longer read our e-mails; it is not a real touchpoint any more.",
     "CRM analyst", "Staff workshop 2026-09"),
    ("F7", "research", None, True, None, "Customers compare products on the app and the website, as the map shows.",
     "Focus group: Young Professionals", "Focus group 2026-09"),
    ("F8", "receive", "delivery", True, None, "المندوب ما يلتزم بالموعد، والعملاء يتصلون يسألون وين طلباتهم.",
     "مشرف التوصيل", "Staff workshop 2026-09"),
]

_AR_STRIP = re.compile("[\u064b-\u0652\u0640]")
_AR_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})
_WS = re.compile(r"\s+")


# --- small helpers -------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Normalize text as the auto-coder does: lower-case, fold Arabic, collapse whitespace."""
    return _WS.sub(" ", _AR_STRIP.sub("", str(text).lower()).translate(_AR_FOLD)).strip()


def _secs(ts: pd.Timestamp) -> int:
    """Seconds since the epoch of a timestamp."""
    return int(ts.value // 1_000_000_000)


def _to_dt(secs: np.ndarray) -> pd.Series:
    """Seconds since the epoch -> datetime64[s] Series."""
    return pd.Series(np.asarray(secs, dtype="int64").astype("datetime64[s]"))


def _quarter_bounds() -> list[tuple[int, int]]:
    """(start, end) in epoch seconds of each quarter of the span."""
    out = []
    for q in QUARTERS:
        p = pd.Period(q, freq="Q")
        out.append((_secs(p.start_time), _secs(p.end_time.floor("s"))))
    return out


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights`` drawn with probability proportional to its weight."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _say(rng: np.random.Generator, code: str, lang: str, mixed_p: float = 0.0) -> str:
    """A sentence expressing ``code`` in ``lang`` (some phrasings are ones the patterns miss)."""
    if lang == "ar" and code in MIXED and rng.random() < mixed_p:
        return MIXED[code][int(rng.integers(len(MIXED[code])))]
    templates = TEMPLATES[code][lang]
    w = np.array([0.45 if t.startswith("~") else 1.0 for t in templates])
    t = templates[int(rng.choice(len(templates), p=w / w.sum()))].lstrip("~")
    return t.format(n=int(rng.integers(2, 7)), m=int(rng.integers(20, 61)),
                    agent=AGENT_NAMES[int(rng.integers(len(AGENT_NAMES)))])


def _compose(rng: np.random.Generator, codes: list[str], lang: str, mixed_p: float = 0.03) -> str:
    """A comment made of one sentence per code (a generic sentence when there is none)."""
    if not codes:
        return GENERIC[lang][int(rng.integers(len(GENERIC[lang])))]
    return " ".join(_say(rng, c, lang, mixed_p) for c in codes)


def _draw_codes(rng: np.random.Generator, weights: dict[str, float], p_second: float = 0.25) -> list[str]:
    """One code (or none, key "") and sometimes a second, different one."""
    first = _pick(rng, weights)
    if not first:
        return []
    codes = [first]
    if rng.random() < p_second:
        rest = {k: v for k, v in weights.items() if k and k != first}
        codes.append(_pick(rng, rest))
    return codes


def _phone(rng: np.random.Generator) -> str:
    """A Saudi mobile number in +966 5x xxx xxxx style."""
    d = rng.integers(0, 10, size=9)
    s = "".join(map(str, d))
    return f"+966 5{s[0]} {s[1:4]} {s[4:8]}"


def _pii(rng: np.random.Generator, lang: str) -> str:
    """A sentence carrying personal data: a phone number, an e-mail address or a card number."""
    kind = int(rng.integers(3))
    if kind == 0:
        num = _phone(rng)
        return f"You can call me back on {num}." if lang == "en" else f"رقمي {num} اتصلوا علي."
    if kind == 1:
        name = ["ahmed.k", "noura.s", "m.alharbi", "reem88", "f.otaibi"][int(rng.integers(5))]
        mail = f"{name}@example.com"
        return f"My email is {mail}." if lang == "en" else f"إيميلي {mail}"
    card = " ".join("".join(map(str, rng.integers(0, 10, size=4))) for _ in range(4))
    card = "4" + card[1:]
    return f"I paid with card {card}." if lang == "en" else f"دفعت بالبطاقة {card}"


# --- customers, interactions, churn, orders --------------------------------------------------


def _customers(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers (without revenue and churn) and their segment index."""
    n = N_CUSTOMERS
    seg = rng.choice(4, size=n, p=[0.26, 0.24, 0.30, 0.20])
    places = [("Central", "Riyadh", 0.30), ("Central", "Al Kharj", 0.03), ("Western", "Jeddah", 0.20),
              ("Western", "Makkah", 0.08), ("Western", "Madinah", 0.06), ("Eastern", "Dammam", 0.10),
              ("Eastern", "Khobar", 0.07), ("Eastern", "Al Ahsa", 0.04), ("Southern", "Abha", 0.05),
              ("Northern", "Tabuk", 0.04), ("Qassim", "Buraydah", 0.03)]
    pi = rng.choice(len(places), size=n, p=[p[2] for p in places])
    age_mu = np.array([29, 40, 38, 46])[seg]
    age_sd = np.array([4, 7, 12, 9])[seg]
    age = np.clip(np.round(rng.normal(age_mu, age_sd)), 18, 80).astype("int64")
    age = pd.array(age, dtype="Int64")
    age[rng.random(n) < 0.01] = pd.NA
    gender = np.where(rng.random(n) < 0.52, "male", "female").astype(object)
    gender[rng.random(n) < 0.02] = None
    bands = ["<10k SAR", "10-20k SAR", "20-35k SAR", "35k+ SAR"]
    band_p = np.array([[0.2, 0.45, 0.28, 0.07], [0.15, 0.4, 0.33, 0.12],
                       [0.45, 0.4, 0.12, 0.03], [0.02, 0.15, 0.43, 0.40]])
    income = np.array([bands[rng.choice(4, p=band_p[s])] for s in seg], dtype=object)
    income[rng.random(n) < 0.03] = None
    hh = np.array([0, 3, 1, 2])[seg] + 1 + rng.poisson(np.array([0.6, 1.5, 2.0, 1.0])[seg])
    plans = ["basic", "plus", "premium"]
    plan_p = np.array([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1], [0.8, 0.18, 0.02], [0.05, 0.25, 0.70]])
    chans = ["web", "app", "store", "phone"]
    chan_p = np.array([[0.25, 0.6, 0.1, 0.05], [0.3, 0.35, 0.3, 0.05],
                       [0.35, 0.3, 0.25, 0.1], [0.25, 0.35, 0.3, 0.1]])
    pays = ["card", "mada", "apple_pay", "cash_on_delivery", "bnpl"]
    pay_p = np.array([[0.3, 0.2, 0.35, 0.05, 0.1], [0.25, 0.35, 0.15, 0.15, 0.1],
                      [0.15, 0.35, 0.1, 0.3, 0.1], [0.45, 0.2, 0.3, 0.03, 0.02]])
    lo, hi = _secs(pd.Timestamp("2023-01-01")), _secs(pd.Timestamp("2026-08-31"))
    signup = (lo + rng.random(n) * (hi - lo)).astype("int64") // 86400 * 86400
    df = pd.DataFrame({
        "customer_id": [f"C{i + 1:05d}" for i in range(n)],
        "signup_date": _to_dt(signup),
        "segment": np.array(SEGMENTS, dtype=object)[seg],
        "age": age,
        "gender": gender,
        "region": [places[i][0] for i in pi],
        "city": [places[i][1] for i in pi],
        "income_band": income,
        "household_size": pd.array(np.minimum(hh, 12), dtype="Int64"),
        "plan": [plans[rng.choice(3, p=plan_p[s])] for s in seg],
        "preferred_channel": [chans[rng.choice(4, p=chan_p[s])] for s in seg],
        "payment_method": [pays[rng.choice(5, p=pay_p[s])] for s in seg],
        "language": np.where(rng.random(n) < 0.30, "ar", "en"),
    })
    return df, seg


def _churn(rng: np.random.Generator, cust: pd.DataFrame, seg: np.ndarray, flagged: np.ndarray,
           z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Churn flag and date, and the windows that drive every other table.

    Returns ``(start, end, quiet, t_unresolved, triggered)``: in epoch seconds per customer the
    active window ``[start, end)`` (``end`` = churn date, or the end of the span), the moment
    ``quiet`` from which a churner stops ordering and visiting (their
    activity thins over the ``CHURN_TAPER_DAYS`` before it), and the time of each flagged
    customer's first unresolved interaction (0 for the others); ``triggered`` marks the
    churners whose churn that interaction triggered. See the module notes.
    """
    n = len(cust)
    day = 86400
    start = np.maximum(cust["signup_date"].to_numpy().astype("datetime64[s]").astype("int64"),
                       _secs(SPAN_START))
    end_span = _secs(SPAN_END)
    # latent experience: the relationship-NPS driver (as in _surveys) and overall effort
    w = np.array([NPS_DRIVER_WEIGHT[tp] for tp in TOUCHPOINTS])
    drive = z @ w
    drive = (drive - drive.mean()) / drive.std()
    effort = z.mean(axis=1)
    effort = (effort - effort.mean()) / effort.std()
    risk = np.exp(-CHURN_HAZARD["nps_driver"] * drive - CHURN_HAZARD["effort"] * effort)
    risk = risk * np.array(CHURN_HAZARD["segment"])[seg]
    # background hazard: an exponential time to churn from the start of the window
    rate = CHURN_HAZARD["base_per_year"] * risk / (365.25 * day)
    t_base = start + rng.exponential(1.0, n) / rate
    # the first unresolved interaction of a flagged customer; it can only fall before churn
    t_u = _times_in(rng, start, np.full(n, end_span))
    early = flagged & (t_base < t_u)
    t_u[early] = _times_in(rng, start[early], np.maximum(t_base[early], start[early] + day))
    t_u = np.where(flagged, t_u, 0)
    # churn triggered by the unresolved interaction, 30-120 days after it
    p_trig = np.minimum(CHURN_HAZARD["after_unresolved"] * risk ** 0.5, 0.9)
    trig = flagged & (rng.random(n) < p_trig)
    lag = rng.uniform(*CHURN_LAG_DAYS, n) * day
    t_trig = np.where(trig, t_u + lag, np.inf)
    t_churn = np.minimum(t_base, t_trig)
    churned = t_churn < end_span
    churn_day = np.where(churned, t_churn, 0).astype("int64") // day * day
    churn_day = np.where(churned, np.maximum(churn_day, start // day * day + 7 * day), 0)
    end = np.where(churned, churn_day, end_span)
    # churners go quiet before the churn date: after the unresolved interaction that
    # triggered it, otherwise 0-90 days before it
    gap = rng.uniform(*CHURN_QUIET_DAYS, n) * day
    quiet = np.where(trig & (t_trig <= t_base), t_u + rng.uniform(0, 14, n) * day, end - gap)
    quiet = np.where(churned, np.clip(quiet, start + day, end), end).astype("int64")
    cust["churned"] = churned
    cust["churn_date"] = pd.Series(churn_day.astype("datetime64[s]"))
    cust.loc[~churned, "churn_date"] = pd.NaT
    return start, end, quiet, t_u.astype("int64"), churned & trig & (t_trig <= t_base)


def _times_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One uniform timestamp (epoch seconds) in each [lo, hi)."""
    return (lo + rng.random(len(lo)) * np.maximum(hi - lo - 1, 1)).astype("int64")


def _active_times(rng: np.random.Generator, lo: np.ndarray, quiet: np.ndarray,
                  end: np.ndarray) -> np.ndarray:
    """One activity timestamp in each ``[lo, quiet)``: uniform, except that the density falls
    linearly to zero over the ``CHURN_TAPER_DAYS`` before ``quiet`` when ``quiet < end``
    (a churner fading out)."""
    hi = np.maximum(quiet, lo + 1)
    length = (hi - lo).astype(float)
    taper = np.where(quiet < end, np.minimum(CHURN_TAPER_DAYS * 86400.0, length), 0.0)
    flat = length - taper
    in_tri = rng.random(len(lo)) * (flat + taper / 2) >= flat
    u = rng.random(len(lo))
    x = np.where(in_tri, flat + taper * (1 - np.sqrt(1 - u)), u * flat)
    return np.minimum(lo + x, hi - 1).astype("int64")


def _interactions(rng: np.random.Generator, cust: pd.DataFrame, flagged: np.ndarray,
                  start: np.ndarray, end: np.ndarray, t_unresolved: np.ndarray) -> pd.DataFrame:
    """Support contacts; flagged customers have at least one unresolved, others none.

    A flagged customer's first unresolved contact is at ``t_unresolved``; any further
    unresolved ones follow it (problems pile up), resolved ones fall anywhere in the window.
    """
    n_int = np.where(flagged, np.maximum(1, rng.poisson(3.5, len(cust))), rng.poisson(2.6, len(cust)))
    idx = np.repeat(np.arange(len(cust)), n_int)
    t = _times_in(rng, start[idx], end[idx])
    unresolved = flagged[idx] & (rng.random(len(idx)) < 0.5)
    first = np.r_[0, np.cumsum(n_int)[:-1]]
    unresolved[first[flagged]] = True  # at least one per flagged customer
    later = _times_in(rng, t_unresolved[idx], end[idx])
    t = np.where(unresolved, later, t)
    t[first[flagged]] = t_unresolved[flagged]
    t = np.minimum(t, end[idx] - 1)
    tps = ["phone_support", "chat", "store", "email", "delivery"]
    tp = np.array(tps, dtype=object)[rng.choice(5, size=len(idx), p=[0.35, 0.28, 0.15, 0.08, 0.14])]
    chan_of = {"phone_support": "phone", "chat": "chat", "store": "store", "email": "email"}
    chan = np.array([chan_of.get(x) or ("phone" if rng.random() < 0.6 else "chat") for x in tp])
    mean_min = {"phone": 9.0, "chat": 13.0, "store": 12.0, "email": 18.0}
    mins = np.array([mean_min[c] for c in chan]) * rng.lognormal(0, 0.5, len(idx))
    mins = mins * np.where(unresolved, 1.4, 1.0)
    mins = np.round(mins, 1)
    mins[rng.random(len(idx)) < 0.02] = np.nan
    df = pd.DataFrame({"customer_id": cust["customer_id"].to_numpy()[idx], "t": t,
                       "touchpoint": tp, "channel": chan, "resolved": ~unresolved,
                       "handling_minutes": mins})
    df = df.sort_values(["t", "customer_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "interaction_id", [f"I{i + 1:06d}" for i in range(len(df))])
    df.insert(2, "interaction_time", _to_dt(df.pop("t").to_numpy()))
    return df


def _orders(rng: np.random.Generator, cust: pd.DataFrame, seg: np.ndarray, z_delivery: np.ndarray,
            start: np.ndarray, end: np.ndarray, quiet: np.ndarray) -> pd.DataFrame:
    """Orders; customers with a poor latent delivery experience get more late deliveries.

    Churners order at their segment's rate until they fade out before ``quiet`` and stop.
    """
    taper = np.where(quiet < end, np.minimum(CHURN_TAPER_DAYS * 86400.0, quiet - start), 0.0)
    years = (quiet - start - taper / 2) / (365.25 * 86400)
    rate = np.array([6.5, 7.5, 5.0, 9.0])[seg]
    n_ord = rng.poisson(rate * np.maximum(years, 0))
    idx = np.repeat(np.arange(len(cust)), n_ord)
    t = _active_times(rng, start[idx], quiet[idx], end[idx])
    pref = cust["preferred_channel"].to_numpy()[idx]
    chan_p = {"web": [0.7, 0.2, 0.1], "app": [0.15, 0.75, 0.1], "store": [0.2, 0.2, 0.6],
              "phone": [0.4, 0.3, 0.3]}
    u = rng.random(len(idx))
    cum = np.array([np.cumsum(chan_p[p]) for p in pref])
    chan = np.array(["web", "app", "store"])[(u[:, None] > cum).sum(axis=1)]
    products = ["Groceries", "Electronics", "Home", "Fashion", "Beauty", "Toys"]
    prod = rng.choice(6, size=len(idx), p=[0.35, 0.12, 0.15, 0.18, 0.12, 0.08])
    mean_amt = np.array([120, 900, 300, 250, 150, 180])[prod]
    amount = np.round(mean_amt * rng.lognormal(-0.1, 0.45, len(idx)), 2)
    in_2026 = t >= _secs(pd.Timestamp("2026-01-01"))
    days = rng.gamma(2.2, 1.0, len(idx)) + 0.4 - 0.6 * z_delivery[idx] + 0.3 * in_2026
    days = np.clip(np.round(days), 0, 30).astype(float)
    is_store = chan == "store"
    days[is_store] = np.nan
    df = pd.DataFrame({"customer_id": cust["customer_id"].to_numpy()[idx], "t": t,
                       "amount": amount, "channel": chan,
                       "product": np.array(products)[prod], "delivery_days": days,
                       "late": np.where(is_store, False, days > 3)})
    df = df.sort_values(["t", "customer_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "order_id", [f"O{i + 1:06d}" for i in range(len(df))])
    df.insert(2, "order_time", _to_dt(df.pop("t").to_numpy()))
    return df


# --- web analytics ------------------------------------------------------------------------


def session_clock(sess, key, rng, mean_gap: float = 40.0):
    """Order each session's events by ``key`` and give them seconds since the session's start.

    Returns ``(order, sess, offsets)``: the permutation (``np.lexsort((key, sess))``) to apply to
    the per-event arrays, the sorted session numbers, and the offsets (first event 0, then gaps
    of 3 s plus an exponential with mean ``mean_gap`` s). One draw from ``rng``, the same in the
    demo and the scale client.
    """
    order = np.lexsort((key, sess))
    sess = sess[order]
    gaps = rng.exponential(mean_gap, len(sess)).astype("int64") + 3
    first = np.r_[True, sess[1:] != sess[:-1]]
    gaps[first] = 0
    cum = np.cumsum(gaps)
    return order, sess, cum - np.maximum.accumulate(np.where(first, cum, 0))


def _web_events(rng: np.random.Generator, cust: pd.DataFrame, start: np.ndarray,
                end: np.ndarray, quiet: np.ndarray) -> pd.DataFrame:
    """Sessions whose funnel events are a prefix of FUNNEL, plus non-funnel pages.

    Identified sessions go to customers in proportion to their active time and, for
    churners, fade out before ``quiet``.
    """
    n = N_SESSIONS
    known = rng.random(n) < 0.40
    active = np.maximum(np.minimum(quiet, _secs(SPAN_END) - 3600) - start, 1).astype(float)
    who = rng.choice(len(cust), size=n, p=active / active.sum())
    t0 = _times_in(rng, np.full(n, _secs(SPAN_START)), np.full(n, _secs(SPAN_END) - 3600))
    t_known = _active_times(rng, start[who], np.minimum(quiet[who], _secs(SPAN_END) - 3600), end[who])
    t0 = np.where(known, t_known, t0)
    device = rng.choice(3, size=n, p=[0.37, 0.55, 0.08])
    source = rng.choice(5, size=n, p=[0.32, 0.22, 0.18, 0.10, 0.18])
    src_boost = np.array([0.0, 0.03, -0.03, 0.05, 0.02])[source]
    p_step = np.zeros((n, 5))
    p_step[:, 0] = 0.78
    p_step[:, 1] = 0.50 + src_boost
    p_step[:, 2] = 0.60 + src_boost
    for d, name in enumerate(DEVICES):
        pay, buy = CHECKOUT_CONTINUE[name]
        p_step[device == d, 3] = pay
        p_step[device == d, 4] = buy
    cont = rng.random((n, 5)) < p_step
    depth = 1 + np.cumprod(cont, axis=1).sum(axis=1)  # number of funnel events, 1..6
    n_extra = rng.poisson(1.5, n)
    sess_f = np.repeat(np.arange(n), depth)
    step = np.arange(len(sess_f)) - np.repeat(np.r_[0, np.cumsum(depth)[:-1]], depth)
    key_f = step + 0.5 * rng.random(len(sess_f))
    sess_x = np.repeat(np.arange(n), n_extra)
    key_x = 0.5 + rng.random(len(sess_x)) * depth[sess_x]
    ev_x = np.array(EXTRA_PAGES)[rng.choice(5, size=len(sess_x), p=[0.3, 0.3, 0.15, 0.15, 0.1])]
    sess = np.r_[sess_f, sess_x]
    key = np.r_[key_f, key_x]
    event = np.r_[np.array(FUNNEL)[step], ev_x]
    order, sess, cum = session_clock(sess, key, rng)
    event = event[order]
    t = np.minimum(t0[sess] + cum, _secs(SPAN_END))
    cust_ids = np.where(known, cust["customer_id"].to_numpy()[who], None)
    return pd.DataFrame({
        "session_id": np.array([f"S{i + 1:06d}" for i in range(n)])[sess],
        "customer_id": cust_ids[sess],
        "event_time": pd.Series(t.astype("datetime64[s]")).astype("datetime64[ms]"),
        "event": event,
        "device": np.array(DEVICES)[device][sess],
        "source": np.array(SOURCES_WEB)[source][sess],
    })


# --- surveys ------------------------------------------------------------------------------


def _active_in(start: np.ndarray, end: np.ndarray, q: tuple[int, int]) -> np.ndarray:
    """Indices of customers whose active window overlaps quarter ``q`` by at least a day."""
    lo = np.maximum(start, q[0])
    hi = np.minimum(end, q[1])
    return np.flatnonzero(hi - lo > 86400)


def _nps_scores(rng: np.random.Generator, drive: np.ndarray, cells: np.ndarray,
                quota: dict[int, tuple[float, float]]) -> np.ndarray:
    """0-10 scores: within each cell, the lowest ``drive`` are detractors, the highest promoters."""
    out = np.zeros(len(drive), dtype="int64")
    det_vals = np.array([0, 1, 2, 3, 4, 5, 6])
    det_cdf = np.cumsum([0.04, 0.03, 0.05, 0.08, 0.12, 0.28, 0.40])
    for cell, (p_pro, p_det) in quota.items():
        ix = np.flatnonzero(cells == cell)
        if len(ix) == 0:
            continue
        ranked = ix[np.argsort(drive[ix], kind="stable")]
        k_det = int(round(p_det * len(ix)))
        k_pro = int(round(p_pro * len(ix)))
        det = ranked[:k_det]
        pro = ranked[len(ix) - k_pro:]
        pas = ranked[k_det:len(ix) - k_pro]
        rank_u = (np.arange(len(det)) + 0.5) / max(len(det), 1)
        out[det] = det_vals[np.searchsorted(det_cdf, rank_u)]
        out[pas] = np.where(np.arange(len(pas)) < 0.45 * len(pas), 7, 8)
        out[pro] = np.where(np.arange(len(pro)) < 0.5 * len(pro), 9, 10)
    return out


def _surveys(rng: np.random.Generator, cust: pd.DataFrame, seg: np.ndarray, z: np.ndarray,
             start: np.ndarray, end: np.ndarray) -> tuple[pd.DataFrame, list[list[str]]]:
    """Relationship and transactional responses, and the true codes of each comment."""
    qb = _quarter_bounds()
    tp_sd = {tp: 0.75 for tp in TOUCHPOINTS} | {"delivery": 0.95, "store": 0.6}
    seg_shift = np.array([0.0, -0.05, -0.08, 0.12])
    rows: list[dict] = []
    # relationship survey
    w = np.array([NPS_DRIVER_WEIGHT[tp] for tp in TOUCHPOINTS])
    rel_cust, rel_t, rel_q = [], [], []
    for qi, q in enumerate(qb):
        pool = _active_in(start, end, q)
        pick = np.sort(rng.choice(pool, size=N_RELATIONSHIP, replace=False))
        rel_cust.append(pick)
        rel_t.append(_times_in(rng, np.maximum(start[pick], q[0]), np.minimum(end[pick], q[1])))
        rel_q.append(np.full(len(pick), qi))
    rc, rt, rq = np.concatenate(rel_cust), np.concatenate(rel_t), np.concatenate(rel_q)
    drive = z[rc] @ w + rng.normal(0, 0.8, len(rc))
    cells = seg[rc] * 10 + rq
    quota = {s * 10 + qi: NPS_QUOTA[SEGMENTS[s]][qi] for s in range(4) for qi in range(7)}
    nps = _nps_scores(rng, drive, cells, quota)
    for i in range(len(rc)):
        rows.append({"c": rc[i], "t": rt[i], "type": "relationship", "tp": None, "nps": int(nps[i]),
                     "csat": None, "ces": None, "imp": None, "q": int(rq[i])})
    # transactional surveys
    tpw = np.array([TP_WEIGHT[tp] for tp in TOUCHPOINTS])
    for qi, q in enumerate(qb):
        pool = _active_in(start, end, q)
        pick = rng.choice(pool, size=N_TRANSACTIONAL, replace=True)
        tpi = rng.choice(len(TOUCHPOINTS), size=N_TRANSACTIONAL, p=tpw / tpw.sum())
        t = _times_in(rng, np.maximum(start[pick], q[0]), np.minimum(end[pick], q[1]))
        mu = np.array([TP_CSAT[TOUCHPOINTS[j]] for j in tpi]) - 0.1 * (qi >= 4) * (tpi == 6)
        sd = np.array([tp_sd[TOUCHPOINTS[j]] for j in tpi])
        latent = mu + seg_shift[seg[pick]] + sd * z[pick, tpi] + rng.normal(0, 0.55, len(pick))
        csat = np.clip(np.round(latent), 1, 5).astype(int)
        ces = np.clip(np.round(4.3 + 1.1 * (latent - 3.6) + rng.normal(0, 0.9, len(pick))), 1, 7).astype(int)
        imp_mu = np.array([TP_IMPORTANCE[TOUCHPOINTS[j]] for j in tpi])
        imp = np.clip(np.round(imp_mu + rng.normal(0, 0.7, len(pick))), 1, 5).astype(int)
        for i in range(len(pick)):
            rows.append({"c": pick[i], "t": t[i], "type": "transactional", "tp": TOUCHPOINTS[tpi[i]],
                         "nps": None, "csat": int(csat[i]), "ces": int(ces[i]), "imp": int(imp[i]),
                         "q": qi})
    rows.sort(key=lambda r: (r["t"], r["c"], r["type"]))
    lang = cust["language"].to_numpy()
    comments: list[str | None] = []
    truth: list[list[str]] = []
    for r in rows:
        lg = lang[r["c"]]
        if rng.random() < 0.25:
            comments.append(None)
            truth.append([])
            continue
        if r["type"] == "relationship":
            cat = "detractor" if r["nps"] <= 6 else "promoter" if r["nps"] >= 9 else "passive"
            weights = dict(REL_CODE_WEIGHTS[cat])
            if cat == "detractor" and seg[r["c"]] == 2 and r["q"] == 6:
                weights["price_high"] += 0.10
                weights["competitor_switch"] += 0.06
            codes = _draw_codes(rng, weights)
        else:
            neg, pos = TP_CODES[r["tp"]]
            if r["csat"] <= 2 or (r["csat"] == 3 and rng.random() < 0.6):
                codes = [_pick(rng, neg)]
            elif rng.random() < 0.1:
                codes = []
            else:
                codes = [_pick(rng, pos)]
        text = _compose(rng, codes, lg)
        if rng.random() < 0.012:
            text = f"{text} {_pii(rng, lg)}"
        comments.append(text)
        truth.append(codes)
    df = pd.DataFrame({
        "response_id": [f"R{i + 1:06d}" for i in range(len(rows))],
        "customer_id": [cust["customer_id"].iat[r["c"]] for r in rows],
        "response_time": _to_dt(np.array([r["t"] for r in rows])),
        "survey_type": [r["type"] for r in rows],
        "touchpoint": [r["tp"] for r in rows],
        "nps": pd.array([r["nps"] for r in rows], dtype="Int64"),
        "csat": pd.array([r["csat"] for r in rows], dtype="Int64"),
        "ces": pd.array([r["ces"] for r in rows], dtype="Int64"),
        "importance": pd.array([r["imp"] for r in rows], dtype="Int64"),
        "comment": pd.Series(comments, dtype=object),
        "language": [lang[r["c"]] for r in rows],
    })
    return df, truth


# --- verbatims ----------------------------------------------------------------------------


def _survey_verbatims(responses: pd.DataFrame, truth: list[list[str]]) -> tuple[list[dict], list[list[str]]]:
    """Every non-empty survey comment as a verbatim row."""
    rows, codes = [], []
    for i, r in enumerate(responses.itertuples(index=False)):
        if r.comment is None or (isinstance(r.comment, float) and np.isnan(r.comment)):
            continue
        score = r.nps if r.survey_type == "relationship" else r.csat
        rows.append({"source": "survey", "customer_id": r.customer_id, "t": r.response_time,
                     "touchpoint": r.touchpoint, "text": r.comment, "language": r.language,
                     "response_id": r.response_id, "score": float(score)})
        codes.append(truth[i])
    return rows, codes


def _conversation(rng: np.random.Generator, lang: str, resolved: bool) -> list[tuple[str, str | None, list[str]]]:
    """Turns (speaker, text, true codes) of one call or chat; the customer carries the themes."""
    if resolved:
        main = [_pick(rng, {"late_delivery": 0.35, "damaged_item": 0.15, "checkout_problem": 0.1,
                            "app_crash": 0.1, "long_wait": 0.1, "price_high": 0.05, "product_quality_bad": 0.15})]
    else:
        main = ["issue_unresolved"]
        if rng.random() < 0.6:
            main.append(_pick(rng, {"late_delivery": 0.5, "long_wait": 0.3, "damaged_item": 0.2}))
    n_turns = int(rng.integers(4, 9))
    order_no = str(int(rng.integers(100000, 999999)))
    agent = AGENT_NAMES[int(rng.integers(len(AGENT_NAMES)))]
    lines = AGENT_LINES[lang]

    def agent_line(kind: str) -> str:
        opts = lines[kind]
        return opts[int(rng.integers(len(opts)))].format(agent=agent)

    cust_turns: list[tuple[str | None, list[str]]] = [(_compose(rng, [main[0]], lang), [main[0]])]
    if len(main) > 1:
        cust_turns.append((_compose(rng, [main[1]], lang), [main[1]]))
    if rng.random() < 0.12:
        cust_turns.append((_pii(rng, lang), []))
    if resolved and rng.random() < 0.35:
        cust_turns.append((_say(rng, "helpful_staff", lang), ["helpful_staff"]))
    turns: list[tuple[str, str | None, list[str]]] = []
    ci = 0
    for k in range(n_turns):
        if k % 2 == 0:
            if k == 0:
                kind = "greeting"
            elif k >= n_turns - 2:
                kind = "closing"
            elif k == 2:
                kind = "probe"
            else:
                kind = "fix" if resolved else "escalate"
            turns.append(("agent", agent_line(kind), []))
        else:
            if ci < len(cust_turns):
                text, codes = cust_turns[ci]
                ci += 1
            else:
                f = CUSTOMER_FILLER[lang]
                text, codes = f[int(rng.integers(len(f)))].format(order=order_no), []
            if rng.random() < 0.015:
                text, codes = None, []  # inaudible / empty turn
            turns.append(("customer", text, codes))
    return turns


def _transcripts(rng: np.random.Generator, inter: pd.DataFrame,
                 lang_of: dict[str, str]) -> tuple[list[dict], list[list[str]]]:
    """Call and chat transcripts of N_CONVERSATIONS phone/chat interactions, one row per turn."""
    cand = np.flatnonzero(inter["channel"].isin(["phone", "chat"]).to_numpy())
    pick = np.sort(rng.choice(cand, size=N_CONVERSATIONS, replace=False))
    rows, codes = [], []
    for i in pick:
        it = inter.iloc[i]
        lang = lang_of[it["customer_id"]]
        src = "call" if it["channel"] == "phone" else "chat"
        tp = "phone_support" if src == "call" else "chat"
        t0 = it["interaction_time"]
        for k, (speaker, text, cs) in enumerate(_conversation(rng, lang, bool(it["resolved"]))):
            rows.append({"source": src, "customer_id": it["customer_id"],
                         "t": min(t0 + pd.Timedelta(seconds=35 * k), SPAN_END), "touchpoint": tp, "text": text,
                         "language": lang, "conversation_id": it["interaction_id"],
                         "speaker": speaker})
            codes.append(cs)
    return rows, codes


def _social(rng: np.random.Generator) -> tuple[list[dict], list[list[str]]]:
    """Social mentions with exact per-quarter brand quotas (FastCart's share rises)."""
    rows, codes = [], []
    for qi, (lo, hi) in enumerate(_quarter_bounds()):
        n = SOCIAL_PER_QUARTER[qi]
        k_fast = int(round(FASTCART_SHARE[qi] * n))
        k_mega = int(round(MEGAMART_SHARE * n))
        brands = np.array(["FastCart"] * k_fast + ["MegaMart"] * k_mega + [BRAND] * (n - k_fast - k_mega))
        brands = brands[rng.permutation(n)]
        t = np.sort(_times_in(rng, np.full(n, lo), np.full(n, hi)))
        for b, ts in zip(brands, t, strict=True):
            lang = "ar" if rng.random() < 0.35 else "en"
            cs = _draw_codes(rng, SOCIAL_CODE_WEIGHTS[b], p_second=0.1)
            sentence = _compose(rng, cs, lang, mixed_p=0.05)
            fmts = SOCIAL_FORMATS[lang]
            name = b if lang == "en" or rng.random() < 0.5 else BRAND_AR[b]
            text: str | None = fmts[int(rng.integers(len(fmts)))].format(b=name, s=sentence)
            if rng.random() < 0.006:
                text = f"{text} {_phone(rng)}"
            if rng.random() < 0.01:
                text, cs = None, []  # image-only post
            val = [CODEBOOK[c][1] for c in cs]
            neg, pos = val.count("negative"), val.count("positive")
            base = 0.0 if neg == pos else (0.6 if pos > neg else -0.6)
            score = float(np.clip(round(base + rng.normal(0, 0.25), 2), -1, 1))
            rows.append({"source": "social", "customer_id": None, "t": int(ts), "touchpoint": "social_media",
                         "text": text, "language": lang, "brand": b, "score": score})
            codes.append(cs)
    rows[17]["text"] = "<script>alert(1)</script> lol @Souqly"
    codes[17] = []
    rows[17]["brand"] = BRAND
    return rows, codes


def _reviews(rng: np.random.Generator) -> tuple[list[dict], list[list[str]]]:
    """App-store and product reviews with 1-5 stars."""
    rows, codes = [], []
    t = np.sort(_times_in(rng, np.full(N_REVIEWS, _secs(SPAN_START)), np.full(N_REVIEWS, _secs(SPAN_END))))
    for i in range(N_REVIEWS):
        tp = "app" if rng.random() < 0.5 else "product"
        stars = int(rng.choice(5, p=[0.18, 0.12, 0.15, 0.25, 0.30])) + 1
        lang = "ar" if rng.random() < 0.35 else "en"
        neg, pos = TP_CODES[tp]
        cs = [_pick(rng, neg)] if stars <= 2 or (stars == 3 and rng.random() < 0.5) else [_pick(rng, pos)]
        text = _compose(rng, cs, lang)
        rows.append({"source": "review", "customer_id": None, "t": int(t[i]), "touchpoint": tp,
                     "text": text, "language": lang, "brand": BRAND, "score": float(stars)})
        codes.append(cs)
    rows[5].update(text="<b>Worst</b> app update ever, it keeps crashing!", language="en",
                   touchpoint="app", score=1.0)
    codes[5] = ["app_crash"]
    rows[9].update(text="Good quality but I paid with card 4111 1111 1111 1111 and was charged twice.",
                   language="en", touchpoint="product", score=3.0)
    codes[9] = ["product_quality_good"]
    return rows, codes


def _verbatims(rng: np.random.Generator, responses: pd.DataFrame, survey_truth: list[list[str]],
               inter: pd.DataFrame, cust: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The verbatims table and its true codes (long format; empty code = none applies)."""
    lang_of = dict(zip(cust["customer_id"], cust["language"], strict=True))
    parts = [_survey_verbatims(responses, survey_truth), _transcripts(rng, inter, lang_of),
             _social(rng), _reviews(rng)]
    rows = [r for p in parts for r in p[0]]
    codes = [c for p in parts for c in p[1]]
    df = pd.DataFrame(rows)
    t = df["t"]
    df["verbatim_time"] = [
        x if isinstance(x, pd.Timestamp) else pd.Timestamp(int(x), unit="s") for x in t
    ]
    df["verbatim_time"] = pd.to_datetime(df["verbatim_time"]).astype("datetime64[s]")
    df.insert(0, "verbatim_id", [f"V{i + 1:06d}" for i in range(len(df))])
    cols = ["verbatim_id", "source", "customer_id", "verbatim_time", "touchpoint", "text", "language",
            "response_id", "conversation_id", "speaker", "brand", "score"]
    df = df[cols]
    tr = [(vid, c) for vid, cs in zip(df["verbatim_id"], codes, strict=True) for c in (cs or [None])]
    truth = pd.DataFrame(tr, columns=["verbatim_id", "code"])
    return df, truth


# --- the journey method's evidence (issue 15) ------------------------------------------------
# Drawn from their own random stream after the main one, so every other table keeps its values.


def _plant_contacts(rng: np.random.Generator, inter: pd.DataFrame, cust: pd.DataFrame,
                    end: np.ndarray) -> pd.DataFrame:
    """Contact reasons, departments and transfers, and repeat contacts about order status.

    Every contact gets a ``reason`` (CONTACT_REASONS of its touchpoint), the ``department``
    that answers it and its number of ``transfers`` between departments (TRANSFER_SHARE:
    phone support transfers jump from TRANSFER_CHANGE). A contact about order status is
    followed 0.5-6 days later by another one about it (ORDER_STATUS_FOLLOW_UP), resolved, by
    phone or chat, before the customer leaves; the follow-ups get the next interaction ids.
    """
    day = 86400
    tp = inter["touchpoint"].to_numpy()
    reason = np.empty(len(inter), dtype=object)
    for name, weights in CONTACT_REASONS.items():
        ix = np.flatnonzero(tp == name)
        keys = np.array(list(weights), dtype=object)
        pr = np.array(list(weights.values()))
        reason[ix] = keys[rng.choice(len(keys), size=len(ix), p=pr / pr.sum())]
    inter = inter.assign(reason=reason)
    end_of = dict(zip(cust["customer_id"], end, strict=True))
    mean_min = {"phone": 9.0, "chat": 13.0}
    parts, chase = [], inter[inter["reason"] == "order_status"]
    for p_follow in ORDER_STATUS_FOLLOW_UP:
        chase = chase[rng.random(len(chase)) < p_follow]
        t = (chase["interaction_time"].to_numpy().astype("datetime64[s]").astype("int64")
             + (rng.uniform(*FOLLOW_UP_DAYS, len(chase)) * day).astype("int64"))
        limit = np.minimum(chase["customer_id"].map(end_of).to_numpy(dtype="int64"), _secs(SPAN_END)) - 3600
        phone = rng.random(len(chase)) < 0.6
        minutes = np.where(phone, mean_min["phone"], mean_min["chat"]) * rng.lognormal(0, 0.5, len(chase))
        chase = pd.DataFrame({
            "customer_id": chase["customer_id"].to_numpy(), "interaction_time": _to_dt(t).to_numpy(),
            "touchpoint": np.where(phone, "phone_support", "chat"), "channel": np.where(phone, "phone", "chat"),
            "resolved": True, "handling_minutes": np.round(minutes, 1), "reason": "order_status",
        })[t < limit]
        parts.append(chase)
    follow = pd.concat(parts, ignore_index=True).sort_values(["interaction_time", "customer_id"], kind="stable")
    follow.insert(0, "interaction_id", [f"I{len(inter) + i + 1:06d}" for i in range(len(follow))])
    out = pd.concat([inter, follow], ignore_index=True)
    out = out.sort_values(["interaction_time", "customer_id"], kind="stable").reset_index(drop=True)
    after = (out["interaction_time"] >= TRANSFER_CHANGE).to_numpy()
    p_tr = np.array([TRANSFER_SHARE[t][int(a)] for t, a in zip(out["touchpoint"], after, strict=True)])
    moved = rng.random(len(out)) < p_tr
    out["department"] = out["reason"].map(REASON_DEPARTMENT)
    out["transfers"] = pd.array(np.where(moved, 1 + rng.poisson(0.5, len(out)), 0), dtype="Int64")
    return out[["interaction_id", "customer_id", "interaction_time", "touchpoint", "channel", "resolved",
                "handling_minutes", "department", "transfers", "reason"]]


def _plant_late_after_unresolved(rng: np.random.Generator, orders: pd.DataFrame, cust: pd.DataFrame,
                                 t_unresolved: np.ndarray, triggered: np.ndarray,
                                 end: np.ndarray) -> pd.DataFrame:
    """A late delivery 2-20 days after the unresolved contact that triggered a churn.

    For LATE_AFTER_UNRESOLVED["share"] of the churners whose churn an unresolved contact
    triggered: one web or app order (the app for app-first customers) delivered in 5-9 days,
    so late, before the churn date. The new orders get the next order ids.
    """
    day = 86400
    ix = np.flatnonzero(triggered)
    ix = ix[rng.random(len(ix)) < LATE_AFTER_UNRESOLVED["share"]]
    t = t_unresolved[ix] + (rng.uniform(*LATE_AFTER_UNRESOLVED["days"], len(ix)) * day).astype("int64")
    keep = t < np.minimum(end[ix] - day, _secs(SPAN_END))
    ix, t = ix[keep], t[keep]
    products = ["Groceries", "Electronics", "Home", "Fashion", "Beauty", "Toys"]
    prod = rng.choice(6, size=len(ix), p=[0.35, 0.12, 0.15, 0.18, 0.12, 0.08])
    amount = np.round(np.array([120, 900, 300, 250, 150, 180])[prod] * rng.lognormal(-0.1, 0.45, len(ix)), 2)
    lo, hi = LATE_AFTER_UNRESOLVED["delivery_days"]
    late = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy()[ix], "order_time": _to_dt(t).to_numpy(),
        "amount": amount, "channel": np.where(cust["preferred_channel"].to_numpy()[ix] == "app", "app", "web"),
        "product": np.array(products)[prod], "delivery_days": rng.integers(lo, hi + 1, len(ix)).astype(float),
        "late": True,
    }).sort_values(["order_time", "customer_id"], kind="stable")
    late.insert(0, "order_id", [f"O{len(orders) + i + 1:06d}" for i in range(len(late))])
    out = pd.concat([orders, late], ignore_index=True)
    return out.sort_values(["order_time", "customer_id"], kind="stable").reset_index(drop=True)


def _plant_checkout_detours(rng: np.random.Generator, web: pd.DataFrame) -> pd.DataFrame:
    """A help or returns page right after checkout_start in some sessions, many of which then leave.

    CHECKOUT_DETOUR["share"] (by device) of the sessions reaching checkout_start get a help or returns page
    visit halfway between checkout_start and the next event (20 s after it when it ends the
    session); CHECKOUT_DETOUR["abandon"] of those lose their payment and purchase events.
    """
    web = web.reset_index(drop=True)
    start = np.flatnonzero((web["event"] == "checkout_start").to_numpy())
    share = web["device"].map(CHECKOUT_DETOUR["share"]).to_numpy(dtype=float)[start]
    pick = start[rng.random(len(start)) < share]
    sess = web["session_id"].to_numpy()
    times = web["event_time"].to_numpy()
    has_next = (pick + 1 < len(web)) & (sess[np.minimum(pick + 1, len(web) - 1)] == sess[pick])
    nxt = np.where(has_next, times[np.minimum(pick + 1, len(web) - 1)], times[pick] + np.timedelta64(40, "s"))
    pages = CHECKOUT_DETOUR["pages"]
    page = np.array(list(pages), dtype=object)[
        rng.choice(len(pages), size=len(pick), p=np.array(list(pages.values())))]
    detour = web.iloc[pick].copy()
    detour["event_time"] = times[pick] + (nxt - times[pick]) / 2
    detour["event"] = page
    leave = set(sess[pick][rng.random(len(pick)) < CHECKOUT_DETOUR["abandon"]])
    drop = web["session_id"].isin(leave) & web["event"].isin(["payment", "purchase"])
    out = pd.concat([web[~drop], detour], ignore_index=True)
    out = out.sort_values(["session_id", "event_time"], kind="stable").reset_index(drop=True)
    out["event_time"] = out["event_time"].astype("datetime64[ms]")
    return out


def _plant_phone_menu(rng: np.random.Generator, responses: pd.DataFrame,
                      verb: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Phone-support CSAT falls from TRANSFER_CHANGE: PHONE_MENU_CSAT_DROP of those responses
    score one point lower (not below 1); their survey verbatims carry the new score."""
    responses, verb = responses.copy(), verb.copy()
    hit = ((responses["touchpoint"] == "phone_support") & (responses["response_time"] >= TRANSFER_CHANGE)
           & (responses["csat"] > 1)).to_numpy()
    hit &= rng.random(len(responses)) < PHONE_MENU_CSAT_DROP
    responses.loc[hit, "csat"] = responses.loc[hit, "csat"] - 1
    new = responses.loc[hit].set_index("response_id")["csat"].astype(float)
    survey = verb["response_id"].isin(new.index)
    verb.loc[survey, "score"] = verb.loc[survey, "response_id"].map(new)
    return responses, verb


def _map_feedback() -> pd.DataFrame:
    """Staff and focus-group feedback on the drawn journey map (method step 6)."""
    cols = ["item_id", "stage", "touchpoint", "agrees", "exists", "comment", "role", "source"]
    df = pd.DataFrame(MAP_FEEDBACK, columns=cols)
    df["exists"] = df["exists"].astype("boolean")
    return df


# --- codebook, manual coding, SWOT --------------------------------------------------------


def _codebook() -> pd.DataFrame:
    """The codebook table."""
    return pd.DataFrame(
        [{"code": c, "theme": v[0], "description": v[2], "valence": v[1],
          "patterns_en": v[3], "patterns_ar": v[4], "question": CODE_QUESTIONS.get(c)}
         for c, v in CODEBOOK.items()]
    )


def _manual_codes(rng: np.random.Generator, verb: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Two coders on 200 verbatims stratified by source x language, each ~90 % right."""
    true = truth.groupby("verbatim_id", sort=False)["code"].apply(lambda s: [c for c in s if isinstance(c, str)])
    ok = verb["text"].notna() & (verb["speaker"].fillna("customer") == "customer")
    picks = []
    for src in ["survey", "call", "chat", "social", "review"]:
        for lang in ["en", "ar"]:
            ids = verb.loc[ok & (verb["source"] == src) & (verb["language"] == lang), "verbatim_id"].to_numpy()
            picks.extend(rng.choice(ids, size=min(20, len(ids)), replace=False).tolist())
    picks.sort()
    all_codes = list(CODEBOOK)
    rows = []
    for vid in picks:
        for coder in ["coder_a", "coder_b"]:
            codes = list(true[vid])
            if rng.random() < 0.10:
                if codes and rng.random() < 0.5:
                    codes.pop(int(rng.integers(len(codes))))
                else:
                    extra = [c for c in all_codes if c not in codes]
                    if codes:
                        codes[int(rng.integers(len(codes)))] = extra[int(rng.integers(len(extra)))]
                    else:
                        codes.append(extra[int(rng.integers(len(extra)))])
            rows.extend({"verbatim_id": vid, "coder": coder, "code": c} for c in (codes or [None]))
    return pd.DataFrame(rows, columns=["verbatim_id", "coder", "code"])


def _swot() -> pd.DataFrame:
    """Staff workshop SWOT items."""
    return pd.DataFrame(
        [{"item_id": i, "quadrant": q, "text": t, "source": "Staff workshop 2026-09", "contributor_role": r}
         for i, q, t, r in SWOT_ITEMS]
    )


# --- measurements for truth.yml -----------------------------------------------------------


def nps_of(scores: pd.Series) -> tuple[float, float, float, int]:
    """(NPS in points, promoter share, detractor share, n) of 0-10 scores."""
    s = scores.dropna()
    n = len(s)
    pro, det = float((s >= 9).mean()), float((s <= 6).mean())
    return 100 * (pro - det), pro, det, n


def _quarter(s: pd.Series) -> pd.Series:
    """Quarter label (e.g. 2026Q3) of each timestamp."""
    return pd.to_datetime(s).dt.to_period("Q").astype(str)


def _measure(t: dict[str, pd.DataFrame], vtruth: pd.DataFrame) -> dict:
    """Measure every planted finding on the generated tables (the same way the tests do)."""
    r4 = lambda x: round(float(x), 4)  # noqa: E731
    sr = t["survey_responses"].copy()
    sr["quarter"] = _quarter(sr["response_time"])
    tx = sr[sr["survey_type"] == "transactional"]
    g = tx.groupby(["quarter", "touchpoint"]).agg(csat=("csat", "mean"), imp=("importance", "mean"),
                                                  n=("csat", "size"))
    by_q = {q: {"importance": r4(g.loc[(q, "delivery"), "imp"]), "csat": r4(g.loc[(q, "delivery"), "csat"]),
                "n": int(g.loc[(q, "delivery"), "n"])} for q in QUARTERS}
    overall = tx.groupby("touchpoint").agg(csat=("csat", "mean"), imp=("importance", "mean"))
    f1 = {"touchpoint": "delivery", "by_quarter": by_q,
          "overall_importance": r4(overall.loc["delivery", "imp"]),
          "overall_csat": r4(overall.loc["delivery", "csat"]),
          "next_lowest_csat": r4(overall["csat"].drop("delivery").min()),
          "next_highest_importance": r4(overall["imp"].drop("delivery").max())}
    # 2. detractor theme
    rel = sr[(sr["survey_type"] == "relationship") & sr["comment"].notna()]
    has = vtruth.dropna().merge(t["verbatims"][["verbatim_id", "response_id"]], on="verbatim_id")
    det_ids = set(rel.loc[rel["nps"] <= 6, "response_id"])
    pro_ids = set(rel.loc[rel["nps"] >= 9, "response_id"])
    diffs = {}
    for code in CODEBOOK:
        ids = set(has.loc[has["code"] == code, "response_id"])
        a, b = len(ids & det_ids), len(ids & pro_ids)
        diffs[code] = (a / len(det_ids) - b / len(pro_ids), a, b)
    ranked = sorted(diffs.items(), key=lambda kv: -kv[1][0])
    top, second = ranked[0], ranked[1]
    a, b = top[1][1], top[1][2]
    p = stats.fisher_exact([[a, len(det_ids) - a], [b, len(pro_ids) - b]])[1]
    f2 = {"code": top[0], "share_detractors": r4(a / len(det_ids)), "share_promoters": r4(b / len(pro_ids)),
          "difference": r4(top[1][0]), "runner_up": second[0], "runner_up_difference": r4(second[1][0]),
          "n_detractor_comments": len(det_ids), "n_promoter_comments": len(pro_ids),
          "fisher_p": float(f"{p:.3g}")}
    # 3. segment NPS drop
    rr = sr[sr["survey_type"] == "relationship"].merge(t["customers"][["customer_id", "segment"]], on="customer_id")
    segs = {}
    for s in SEGMENTS:
        a2 = nps_of(rr.loc[(rr["segment"] == s) & (rr["quarter"] == "2026Q2"), "nps"])
        a3 = nps_of(rr.loc[(rr["segment"] == s) & (rr["quarter"] == "2026Q3"), "nps"])
        var = sum((pp + dd - (pp - dd) ** 2) / n for _, pp, dd, n in (a2, a3))
        z = (a3[0] - a2[0]) / 100 / np.sqrt(var)
        segs[s] = {"nps_2026Q2": r4(a2[0]), "nps_2026Q3": r4(a3[0]), "change": r4(a3[0] - a2[0]),
                   "n_2026Q2": a2[3], "n_2026Q3": a3[3], "z": r4(z),
                   "p": float(f"{2 * stats.norm.sf(abs(z)):.3g}")}
    overall_nps = {q: r4(nps_of(rr.loc[rr["quarter"] == q, "nps"])[0]) for q in QUARTERS}
    f3 = {"segment": "Value Seekers", **segs["Value Seekers"], "overall_nps_by_quarter": overall_nps,
          "other_segments_change": {s: segs[s]["change"] for s in SEGMENTS if s != "Value Seekers"},
          "planted_quota": {s: {q: [r4(x) for x in NPS_QUOTA[s][qi]] for q, qi in (("2026Q2", 5), ("2026Q3", 6))}
                            for s in SEGMENTS}}
    # 4. checkout abandonment by device
    ab = checkout_abandonment(t["web_events"])
    f4 = {"device": "mobile", "by_quarter": {q: {d: r4(ab.loc[q, d]) for d in DEVICES} for q in QUARTERS},
          "planted_continue_probabilities": {d: list(v) for d, v in CHECKOUT_CONTINUE.items()}}
    # 5. churn signal
    cu = t["customers"]
    bad = set(t["interactions"].loc[~t["interactions"]["resolved"], "customer_id"])
    flag = cu["customer_id"].isin(bad)
    f5 = {"rate_with_unresolved": r4(cu.loc[flag, "churned"].mean()),
          "rate_without": r4(cu.loc[~flag, "churned"].mean()),
          "n_with_unresolved": int(flag.sum()), "n_without": int((~flag).sum()),
          "planted_hazard": dict(CHURN_HAZARD), "planted_lag_days": list(CHURN_LAG_DAYS),
          "planted_quiet_days": list(CHURN_QUIET_DAYS), "planted_taper_days": CHURN_TAPER_DAYS}
    f5["ratio"] = r4(f5["rate_with_unresolved"] / f5["rate_without"])
    # 6. competitor share
    so = t["verbatims"][t["verbatims"]["source"] == "social"].copy()
    so["quarter"] = _quarter(so["verbatim_time"])
    share = so.groupby("quarter")["brand"].apply(lambda s: (s == "FastCart").mean())
    cnt = so.groupby("quarter")["brand"].agg(["size", lambda s: int((s == "FastCart").sum())])
    cnt.columns = ["n", "k"]
    k2, n2, k3, n3 = cnt.loc["2026Q2", "k"], cnt.loc["2026Q2", "n"], cnt.loc["2026Q3", "k"], cnt.loc["2026Q3", "n"]
    pp = (k2 + k3) / (n2 + n3)
    z = (k3 / n3 - k2 / n2) / np.sqrt(pp * (1 - pp) * (1 / n2 + 1 / n3))
    f6 = {"brand": "FastCart", "share_by_quarter": {q: r4(share[q]) for q in QUARTERS},
          "z_2026Q3_vs_Q2": r4(z), "p_2026Q3_vs_Q2": float(f"{2 * stats.norm.sf(abs(z)):.3g}")}
    # 7. store strength
    f7 = {"touchpoint": "store", "csat": r4(overall.loc["store", "csat"]),
          "csat_rank": int(overall["csat"].rank(ascending=False)["store"]),
          "importance": r4(overall.loc["store", "imp"]), "mean_importance": r4(overall["imp"].mean()),
          "csat_2026Q3": r4(g.loc[("2026Q3", "store"), "csat"])}
    return {"weak_important_touchpoint": f1, "detractor_theme": f2, "segment_nps_drop": f3,
            "device_abandonment": f4, "churn_signal": f5, "competitor_threat": f6, "store_strength": f7,
            **_measure_journey(t)}


def repeat_contacts(inter: pd.DataFrame, days: float = 7.0) -> pd.Series:
    """Whether each contact is followed by another from the same customer within ``days``
    (NaN when the data ends before ``days`` have passed), aligned on ``inter``'s index."""
    i = inter.assign(t=pd.to_datetime(inter["interaction_time"])).sort_values(["customer_id", "t"], kind="stable")
    gap = i.groupby("customer_id")["t"].shift(-1) - i["t"]
    out = (gap <= pd.Timedelta(days=days)).astype(float)
    out[i["t"] > i["t"].max() - pd.Timedelta(days=days)] = np.nan
    return out.reindex(inter.index)


def unresolved_then_late(cust: pd.DataFrame, inter: pd.DataFrame, orders: pd.DataFrame,
                         within_days: float = 30.0, lookback_days: float = 180.0) -> pd.Series:
    """Per customer: an unresolved contact followed by a late delivery within ``within_days``, both
    in the ``lookback_days`` before the customer's churn date (or the end of the data)."""
    end = pd.to_datetime(inter["interaction_time"]).max()
    anchor = pd.to_datetime(cust["churn_date"]).where(cust["churned"].astype(bool), end)
    anchor = pd.Series(anchor.to_numpy(), index=cust["customer_id"])
    u = inter.loc[~inter["resolved"].astype(bool), ["customer_id", "interaction_time"]]
    late = orders.loc[orders["late"].astype(bool), ["customer_id", "order_time"]]
    pairs = u.merge(late, on="customer_id")
    tu, to = pd.to_datetime(pairs["interaction_time"]), pd.to_datetime(pairs["order_time"])
    a = pairs["customer_id"].map(anchor)
    ok = (to > tu) & (to - tu <= pd.Timedelta(days=within_days)) & (to < a) \
        & (tu >= a - pd.Timedelta(days=lookback_days))
    return cust["customer_id"].isin(pairs.loc[ok, "customer_id"]).set_axis(cust.index)


def _measure_journey(t: dict[str, pd.DataFrame]) -> dict:
    """Measure the journey method's plants on the generated tables (issue 15)."""
    r4 = lambda x: round(float(x), 4)  # noqa: E731
    inter = t["interactions"].copy()
    inter["quarter"] = _quarter(inter["interaction_time"])
    inter["repeat"] = repeat_contacts(inter)
    rep = inter.dropna(subset=["repeat"]).groupby(inter["reason"] == "order_status")["repeat"].agg(["mean", "size"])
    f8 = {"reason": "order_status", "question": "right_information", "within_days": 7,
          "repeat_rate": r4(rep.loc[True, "mean"]), "n": int(rep.loc[True, "size"]),
          "repeat_rate_other_reasons": r4(rep.loc[False, "mean"]), "n_other": int(rep.loc[False, "size"]),
          "planted_follow_up": list(ORDER_STATUS_FOLLOW_UP)}
    moved = inter["transfers"].fillna(0) > 0
    by_q = moved.groupby([inter["quarter"], inter["touchpoint"]]).mean()
    all_q = moved.groupby(inter["quarter"]).mean()
    sr = t["survey_responses"]
    phone = sr[sr["touchpoint"] == "phone_support"]
    csat_q = phone.groupby(_quarter(phone["response_time"]))["csat"].agg(["mean", "std", "size"])
    welch = stats.ttest_ind_from_stats(*csat_q.loc["2026Q3"], *csat_q.loc["2026Q2"], equal_var=False)
    f9 = {"touchpoint": "phone_support", "questions": ["knows_whom_to_contact", "not_confusing"],
          "csat": {q: r4(csat_q.loc[q, "mean"]) for q in ("2026Q2", "2026Q3")},
          "csat_welch_p": float(f"{welch.pvalue:.3g}"), "planted_csat_drop_share": PHONE_MENU_CSAT_DROP,
          "transfer_rate": {q: r4(by_q.loc[(q, "phone_support")]) for q in ("2026Q2", "2026Q3")},
          "transfer_rate_all": {q: r4(all_q.loc[q]) for q in ("2026Q2", "2026Q3")},
          "planted_share": {k: list(v) for k, v in TRANSFER_SHARE.items()}, "change": str(TRANSFER_CHANGE.date())}
    w = t["web_events"].sort_values(["session_id", "event_time"], kind="stable")
    nxt = w.groupby("session_id")["event"].shift(-1)
    cs = w.loc[w["event"] == "checkout_start", ["session_id"]].assign(detour=nxt.isin(list(CHECKOUT_DETOUR["pages"])))
    bought = set(w.loc[w["event"] == "purchase", "session_id"])
    cs["abandoned"] = ~cs["session_id"].isin(bought)
    ab = cs.groupby("detour")["abandoned"].mean()
    f10 = {"touchpoint": "checkout", "question": "right_amount_of_information",
           "detour_share": r4(cs["detour"].mean()), "n_checkout_sessions": len(cs),
           "abandonment_with_detour": r4(ab.loc[True]), "abandonment_without": r4(ab.loc[False]),
           "planted": {k: v for k, v in CHECKOUT_DETOUR.items() if k != "pages"}}
    cu = t["customers"]
    rule = unresolved_then_late(cu, t["interactions"], t["orders"])
    churned = cu["churned"].astype(bool)
    conf, base = churned[rule].mean(), churned.mean()
    f11 = {"rule": "unresolved contact, then a late delivery within 30 days (180 days before churn)",
           "customers_with": int(rule.sum()), "churn_with": r4(conf), "churn_without": r4(churned[~rule].mean()),
           "churn_all": r4(base), "lift": r4(conf / base), "support": r4((rule & churned).mean()),
           "planted": {"share": LATE_AFTER_UNRESOLVED["share"], "days": list(LATE_AFTER_UNRESOLVED["days"])}}
    f12 = {"staff_only": ["whatsapp"], "staff_deny": ["email"], "disputed": ["phone_support", "checkout"],
           "confirmed": ["delivery", "store"]}
    return {"repeat_order_status": f8, "transfer_heavy_support": f9, "checkout_information": f10,
            "churn_path": f11, "map_feedback": f12}


def checkout_abandonment(events: pd.DataFrame) -> pd.DataFrame:
    """Share of sessions reaching checkout_start without a purchase, by quarter x device."""
    e = events[events["event"].isin(["checkout_start", "purchase"])]
    e = e.assign(bought=e["event"] == "purchase")
    s = e.groupby("session_id").agg(device=("device", "first"), t=("event_time", "min"),
                                    bought=("bought", "max"))
    s["quarter"] = _quarter(s["t"])
    return 1 - s.pivot_table(index="quarter", columns="device", values="bought", aggfunc="mean")


def coding_accuracy(verb: pd.DataFrame, vtruth: pd.DataFrame, codebook: pd.DataFrame) -> dict:
    """Micro precision and recall of the codebook patterns against the true codes."""
    text = verb.set_index("verbatim_id")["text"].dropna()
    norm = text.map(normalize)
    true = set(map(tuple, vtruth.dropna().to_numpy().tolist()))
    pred = set()
    per_code = {}
    for r in codebook.itertuples(index=False):
        pats = "|".join(p for p in (r.patterns_en, r.patterns_ar) if isinstance(p, str))
        rx = re.compile(pats, re.IGNORECASE)
        hit = norm[norm.map(lambda s, rx=rx: bool(rx.search(s)))].index
        p_c = {(v, r.code) for v in hit}
        t_c = {x for x in true if x[1] == r.code}
        per_code[r.code] = {"recall": round(len(p_c & t_c) / max(len(t_c), 1), 3),
                            "precision": round(len(p_c & t_c) / max(len(p_c), 1), 3)}
        pred |= p_c
    return {"precision": round(len(pred & true) / len(pred), 4),
            "recall": round(len(pred & true) / len(true), 4), "per_code": per_code}


# --- writing ------------------------------------------------------------------------------


def _fmt_dates(df: pd.DataFrame, cols: list[str], fmt: str) -> pd.DataFrame:
    """Format datetime columns as ISO strings (NaT -> empty)."""
    out = df.copy()
    for c in cols:
        out[c] = pd.to_datetime(out[c]).dt.strftime(fmt)
    return out


def _write(out_dir: Path, tables: dict[str, pd.DataFrame], vtruth: pd.DataFrame, truth: dict) -> None:
    """Write every table in its canonical file format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    day, sec = "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"
    date_cols = {"customers": ([("signup_date", day), ("churn_date", day)]),
                 "orders": [("order_time", sec)], "interactions": [("interaction_time", sec)],
                 "survey_responses": [("response_time", sec)], "verbatims": [("verbatim_time", sec)]}
    for name, df in tables.items():
        if name == "web_events":
            df.to_parquet(out_dir / "web_events.parquet", index=False)
            continue
        d = df
        for col, fmt in date_cols.get(name, []):
            d = _fmt_dates(d, [col], fmt)
        d.to_csv(out_dir / f"{name}.csv", index=False, lineterminator="\n")
    vtruth.to_csv(out_dir / "verbatim_truth.csv", index=False, lineterminator="\n")
    (out_dir / "truth.yml").write_text(
        "# Planted findings of the demo data (generated by cxlib.demo; the report never reads this).\n"
        + yaml.safe_dump(truth, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --- entry point --------------------------------------------------------------------------


def build(seed: int = 20261122) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Generate every table in memory: (tables by canonical name, verbatim truth)."""
    rng = np.random.default_rng(seed)
    cust, seg = _customers(rng)
    z = rng.normal(size=(len(cust), len(TOUCHPOINTS)))
    flagged = rng.random(len(cust)) < 0.30
    start, end, quiet, t_unresolved, triggered = _churn(rng, cust, seg, flagged, z)
    inter = _interactions(rng, cust, flagged, start, end, t_unresolved)
    orders = _orders(rng, cust, seg, z[:, TOUCHPOINTS.index("delivery")], start, end, quiet)
    plant = np.random.default_rng([seed, 15])  # the journey method's evidence: its own stream
    orders = _plant_late_after_unresolved(plant, orders, cust, t_unresolved, triggered, end)
    revenue = orders.groupby("customer_id")["amount"].sum().round(2)
    cust.insert(len(cust.columns) - 2, "revenue", cust["customer_id"].map(revenue).fillna(0.0).round(2))
    web = _web_events(rng, cust, start, end, quiet)
    responses, survey_truth = _surveys(rng, cust, seg, z, start, end)
    verb, vtruth = _verbatims(rng, responses, survey_truth, inter, cust)
    inter = _plant_contacts(plant, inter, cust, end)
    web = _plant_checkout_detours(plant, web)
    responses, verb = _plant_phone_menu(plant, responses, verb)
    tables = {
        "customers": cust, "orders": orders, "web_events": web, "interactions": inter,
        "survey_responses": responses, "verbatims": verb, "codebook": _codebook(),
        "manual_codes": _manual_codes(rng, verb, vtruth), "swot_inputs": _swot(),
        "map_feedback": _map_feedback(),
    }
    return tables, vtruth


def generate(out_dir: Path, seed: int = 20261122) -> dict:
    """Write every canonical demo table (plus truth.yml, verbatim_truth.csv) into ``out_dir``.

    Returns the truth dict: the planted parameters and each finding measured on the data.
    The same seed always gives byte-identical files.
    """
    out_dir = Path(out_dir)
    tables, vtruth = build(seed)
    truth = {
        "seed": int(seed),
        "span": {"start": "2025-01-01", "end": "2026-09-30", "quarters": QUARTERS},
        "brand": BRAND, "competitors": COMPETITORS,
        "counts": {name: int(len(df)) for name, df in tables.items()},
        "findings": _measure(tables, vtruth),
        "autocoding": coding_accuracy(tables["verbatims"], vtruth, tables["codebook"]),
    }
    _write(out_dir, tables, vtruth, truth)
    return truth
