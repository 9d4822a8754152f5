"""``make new-client CLIENT=x``: draft ``params/x.yml`` from the files in ``data/x/``.

Each export is read as delivered (its encoding detected, a sample of rows through the engine) and
guessed at: which canonical table it is (a survey export, a CRM snapshot, reviews, social posts,
web events, orders), which of its columns map onto which canonical columns (by name and by
content: a 0-10 column named like a recommendation question is an NPS; Yes/No in a churn column
is the churned flag), how its dates are written (day first when a day above 12 comes first; an
ambiguous column is marked for the analyst to decide, never guessed), and the report language.
Every guess is marked ``# guess`` in the draft for the analyst to confirm before the first run.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cxlib import paths
from cxlib.exceptions import ParameterError
from cxlib.voice.coding import normalize_text

_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_SAMPLE = 5000


def _key(name: str) -> str:
    """A column name compared without case, spaces or punctuation; Arabic letters kept, folded as
    the coding folds texts ("تاريخ الإجابة" -> "تاريخالاجابه")."""
    return re.sub(r"[^a-z0-9\u0621-\u064A]", "", normalize_text(str(name)))


# canonical column -> name fragments that suggest it (compared without case, spaces or punctuation)
_NAMES = {
    "customer_id": ("customerid", "custid", "clientid", "accountid", "memberid", "userid", "customerno", "customernumber"),
    "time": ("datesubmitted", "submitted", "responsedate", "reviewdate", "createdat", "timestamp", "date", "time",
             "created", "posted"),
    "nps": ("nps", "likelytorecommend", "likelihoodtorecommend", "recommendusto", "howlikely", "recommend010"),
    "csat": ("rating", "stars", "star", "csat", "satisfaction", "score"),
    "ces": ("ces", "effort", "easy"),
    "text": ("comment", "review", "text", "feedback", "verbatim", "message", "tweet", "content", "body",
             "opinion", "remarks"),
    "stage": ("journeystage", "stage", "step"),
    "touchpoint": ("touchpoint", "channel"),
    "churned": ("churn", "churned", "exited", "attrition", "left", "cancelled", "canceled", "active"),
    "recommend": ("wouldrecommend", "recommended", "wouldyourecommend", "recommend"),
    "brand": ("brand", "handle", "authorhandle", "screenname", "company", "mention"),
    "language": ("lang", "language"),
    "id": ("responseid", "reviewid", "tweetid", "id", "ticketid", "messageid"),
    "session_id": ("sessionid", "session", "visitid"),
    "event": ("event", "eventname", "page", "action"),
    "order_id": ("orderid", "order", "transactionid"),
    "amount": ("amount", "total", "value", "revenue", "price"),
}
# the same roles named in Arabic (as _key writes them: no spaces, one alef, ta marbuta as ha)
_NAMES_AR = {
    "customer_id": ("رقمالعميل", "معرفالعميل", "كودالعميل", "رقمالحساب"),
    "time": ("تاريخ", "التاريخ", "الوقت", "وقتالاجابه", "وقت"),
    "nps": ("توصي", "ترشح", "ترشيح", "احتمالان"),
    "csat": ("تقييم", "التقييم", "الرضا", "رضا", "نجوم", "النجوم", "الدرجه"),
    "ces": ("سهوله", "الجهد", "جهد"),
    "text": ("تعليق", "التعليق", "ملاحظات", "الملاحظات", "مراجعه", "المراجعه", "رايك", "الراي", "النص", "نص",
             "الرساله", "رساله", "تغريده", "التغريده", "الشكوي", "شكوي"),
    "stage": ("المرحله", "مرحله"),
    "touchpoint": ("نقطهالتواصل", "القناه", "قناه"),
    "churned": ("غادر", "الغي", "الغاء", "تسرب", "متسرب", "مغادر"),
    "recommend": ("هلتوصي", "هلستوصي", "هلتنصح", "توصي"),
    "brand": ("العلامه", "الحساب", "الماركه"),
    "language": ("اللغه", "لغه"),
    "id": ("رقم", "معرف", "رقمالاجابه", "رقمالاستجابه", "رقمالمراجعه", "رقمالتذكره"),
    "session_id": ("الجلسه", "رقمالجلسه"),
    "event": ("الحدث", "حدث"),
    "order_id": ("رقمالطلب",),
    "amount": ("المبلغ", "الاجمالي"),
}
# a score written with its end labels, as survey platforms export it: "10 - Extremely likely", "1 (Poor)"
_LEADING = re.compile(r"^\s*(\d{1,2})\s*(?:[-–—=:.)(]|\s)\s*[^\d\s]")
# satisfaction scales written in words (English and Arabic), as 1-5 (compared without case,
# diacritics or hamza forms)
_SATISFACTION = {
    "very dissatisfied": 1, "extremely dissatisfied": 1, "dissatisfied": 2, "somewhat dissatisfied": 2,
    "neither satisfied nor dissatisfied": 3, "neutral": 3, "satisfied": 4, "somewhat satisfied": 4,
    "very satisfied": 5, "extremely satisfied": 5,
    "غير راض اطلاقا": 1, "غير راض تماما": 1, "غير راض جدا": 1, "غير راض": 2, "محايد": 3, "راض": 4,
    "راض جدا": 5, "راض تماما": 5,
}
# a text export's source (cxlib.data.schemas.SOURCES) from words in its file name
_SOURCE_WORDS = {"review": ("review", "rating"), "social": ("tweet", "social", "mention", "post", "twitter", "facebook",
                 "instagram"), "complaint": ("complaint",), "chat": ("chat",), "call": ("call", "transcript"),
                 "email": ("email", "mail")}
_YES = {"yes", "y", "true", "1", "churned", "left", "exited", "نعم"}
_NO = {"no", "n", "false", "0", "stayed", "active", "retained", "لا"}


@dataclass
class FileGuess:
    """What one export looks like and how it would map."""

    file: str
    table: str
    columns: dict = field(default_factory=dict)      # export -> canonical
    constants: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    dates: dict = field(default_factory=dict)        # canonical -> "dayfirst" | "monthfirst" | "CONFIRM"
    encoding: str = "auto"
    decimal: str = "."                               # "," when the export writes 12,50
    header_line: int = 1                             # > 1 when a title stands above the column names
    notes: list = field(default_factory=list)
    rows: int = 0
    arabic: float = 0.0                             # share of texts with Arabic letters


def _sample(path: Path, header_line: int = 1) -> tuple[pd.DataFrame, str, int, dict]:
    """The first rows of an export as text, its encoding, its row count (read by the engine), and
    the question text of each column where the export gives one (a Qualtrics export's second line)."""
    from cxlib.data.io import HEADER_ROWS, connect, quote, read_raw
    from cxlib.data.params import TableSource

    db = connect(None)
    tmp = Path(tempfile.mkdtemp(prefix="cxlib-draft-"))
    try:
        rel, encoding, how = read_raw(db, "draft", path, TableSource(file=path.name, header_line=header_line), tmp)
        n = db.execute(f"SELECT count(*) FROM {quote(rel)}").fetchone()[0]
        df = db.execute(f"SELECT * EXCLUDE (_line) FROM {quote(rel)} ORDER BY _line LIMIT {_SAMPLE}").df()
        questions = {}
        if db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [HEADER_ROWS + "draft"]).fetchone()[0]:
            head = db.execute(f"SELECT * EXCLUDE (_line) FROM {quote(HEADER_ROWS + 'draft')} ORDER BY _line LIMIT 1").df()
            questions = {c: str(v) for c, v in head.iloc[0].items() if v is not None and str(v) != c}
        return (df.astype(object).where(df.notna(), None), (encoding if how in ("detected", "bom") else "auto"), n,
                questions)
    finally:
        db.close()
        for f in tmp.glob("*"):
            f.unlink(missing_ok=True)
        tmp.rmdir()


def _numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.strip().replace({"": None, "None": None}), errors="coerce")


def _label_key(v: str) -> str:
    """A label compared without case, Arabic diacritics, tatweel or hamza forms ("راضٍ جداً" = "راض جدا")."""
    return normalize_text(str(v))


def _scale_map(s: pd.Series, lo: int, hi: int) -> dict | None:
    """``{label: score}`` for a score column written as whole numbers from ``lo`` to ``hi``, some or all
    of them with their label ("10 - Extremely likely"), or all in words of a satisfaction scale (1-5);
    ``{}`` when every value is a plain number in range; None when the column is not such a scale."""
    vals = set(s.dropna().astype(str).str.strip()) - {""}
    if not vals:
        return None
    out: dict = {}
    for v in vals:
        x = pd.to_numeric(v, errors="coerce")
        if pd.notna(x):
            if not (lo <= x <= hi and x % 1 == 0):
                return None
            continue
        m = _LEADING.match(v)
        if m and lo <= int(m.group(1)) <= hi:
            out[v] = int(m.group(1))
        elif (lo, hi) == (1, 5) and _label_key(v) in _SATISFACTION:
            out[v] = _SATISFACTION[_label_key(v)]
        else:
            return None
    # two words of one language for one point ("satisfied", "somewhat satisfied"): a longer scale, not guessed
    worded = [(out[v], bool(re.search(r"[\u0600-\u06FF]", v))) for v in out if not _LEADING.match(v)]
    if len(set(worded)) < len(worded):
        return None
    return dict(sorted(out.items(), key=lambda kv: (kv[1], kv[0])))


_LANGUAGE_WORDS = {"en": ("en", "eng", "english", "انجليزي", "الانجليزيه", "انجليزيه"),
                   "ar": ("ar", "ara", "arabic", "عربي", "العربيه", "عربيه"),
                   "mixed": ("mixed", "both", "ar+en", "en+ar", "مختلط"), "none": ("none", "emoji")}
# review sites and social networks, as exports name them, onto the template's sources
_SITE_WORDS = {"review": ("yelp", "google", "tripadvisor", "trustpilot", "amazon", "appstore", "playstore", "souq",
                          "booking", "zomato", "talabat", "foursquare", "qaym", "reviews", "rating"),
               "social": ("twitter", "x", "facebook", "instagram", "tiktok", "linkedin", "youtube", "snapchat",
                          "tweet", "tweets", "socialmedia")}


def _allowed_map(s: pd.Series, canon: str) -> dict | None:
    """A values map onto the allowed values of ``language`` or ``source`` for a column written in the
    export's own words (None when every value is already allowed). A language the template does not
    read maps to empty (each text's language is then detected from its script); an unknown source to
    'other'."""
    from cxlib.data.schemas import LANGUAGES, SOURCES

    allowed = LANGUAGES if canon == "language" else SOURCES
    vals = sorted(set(s.dropna().astype(str).str.strip()) - {""})
    if all(v in allowed for v in vals):
        return None
    words = _LANGUAGE_WORDS if canon == "language" else {**{x: (x,) for x in SOURCES}, **_SITE_WORDS}
    out = {}
    for v in vals:
        k = _label_key(v).replace(" ", "")
        hit = next((to for to, ws in words.items() if k in ws or _key(v) in ws), None)
        out[v] = hit if hit else (None if canon == "language" else "other")
    return out


def _match(col: str, role: str) -> bool:
    k = _key(col)
    names = _NAMES[role] + _NAMES_AR.get(role, ())
    return any(f in k for f in names) if role != "id" else k in names


def _date_style(s: pd.Series) -> str | None:
    """'iso', 'dayfirst', 'monthfirst', 'CONFIRM' (nn/nn/yyyy both <= 12) or None (not dates)."""
    v = s.dropna().astype(str).str.strip()
    v = v[v != ""]
    if v.empty:
        return None
    m = v.str.extract(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")
    if m[0].notna().mean() > 0.8:
        a, b = pd.to_numeric(m[0]), pd.to_numeric(m[1])
        if (a > 12).any() and not (b > 12).any():
            return "dayfirst"
        if (b > 12).any() and not (a > 12).any():
            return "monthfirst"
        return "CONFIRM"
    parsed = pd.to_datetime(v, errors="coerce", format="mixed", utc=True)
    return "iso" if parsed.notna().mean() > 0.8 else None


_NUM_COMMA = r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"   # 12 | 12,5 | 1.234,56
_NUM_POINT = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"   # 12 | 12.5 | 1,234.56


def _decimal_mark(df: pd.DataFrame) -> str:
    """"," when some column is numbers written with decimal commas (every cell a number such as 12,5
    or 1.234,56, some with one or two decimals) and no column has decimal points; else ".". A column
    of thousands such as 1,234 alone says nothing (it reads either way)."""
    comma = point = False
    for c in df.columns:
        v = df[c].dropna().astype(str).str.strip()
        v = v[v != ""]
        if v.empty:
            continue
        if v.str.fullmatch(_NUM_COMMA).all() and v.str.contains(r"\d,\d{1,2}$").any():
            comma = True
        if v.str.fullmatch(_NUM_POINT).all() and v.str.contains(r"\d\.\d+$").any():
            point = True
    return "," if comma and not point else "."


def guess_file(path: Path) -> FileGuess:
    """Guess the table, mapping, dates and values of one export."""
    from cxlib.data.io import detect_header_line

    at = detect_header_line(path)  # a title above the column names (a report's heading)
    df, encoding, n, questions = _sample(path, at)
    g = FileGuess(path.name, "", encoding=encoding, rows=int(n), decimal=_decimal_mark(df), header_line=at)
    cols = list(df.columns)
    used: set[str] = set()

    def pick(role, test=lambda c: True):
        for c in cols:  # by its name, or by its question ("Q1": "How likely are you to recommend us?")
            if c not in used and (_match(c, role) or _match(questions.get(c, ""), role)) and test(c):
                used.add(c)
                return c
        return None

    def in_range(lo, hi, integer=True):
        def test(c):
            x = _numbers(df[c]).dropna()
            return len(x) > 0 and x.between(lo, hi).all() and (not integer or (x % 1 == 0).all())
        return test

    def yes_no(c):
        v = df[c].dropna().astype(str).str.strip().str.lower()
        return len(v) > 0 and v.isin(_YES | _NO).all()

    def long_text(c):
        v = df[c].dropna().astype(str)
        v = v[v.str.strip() != ""]
        words = v.str.contains(r"[^\W\d_]") & (v.str.contains(r"\s") | v.str.len().lt(6))
        if len(v) == 0 or words.mean() <= 0.5:
            return False
        # free text: long, or many different values; a few short labels ("train", "test") are not texts
        distinct = v.nunique()
        return (v.str.len().mean() > 15 and distinct >= 2) or distinct >= max(10, 0.2 * len(v))

    def inverse_only(c):  # named only like an active flag ("IsActiveMember"): churned is its opposite
        k = _key(c)
        return "inactive" not in k and not any(f in k for f in _NAMES["churned"] if f != "active")

    cid = pick("customer_id")
    # a churn flag proper ("Exited") before an active flag, wherever the two stand in the file
    churn = pick("churned", lambda c: yes_no(c) and not inverse_only(c)) or pick("churned", yes_no)
    session = pick("session_id")
    event = pick("event") if session else None  # "action" is also in "satisfaction" and "transaction"
    order, amount = pick("order_id"), pick("amount", lambda c: _numbers(df[c]).notna().mean() > 0.9)
    scales: dict = {}

    def scale(lo, hi):
        def test(c):
            m = _scale_map(df[c], lo, hi)
            if m:
                scales[c] = m
            return m is not None
        return test

    nps = pick("nps", scale(0, 10))
    csat = pick("csat", scale(1, 5))
    ces = pick("ces", scale(1, 7))
    text = pick("text", long_text) or next((c for c in cols if c not in used and long_text(c)), None)
    if text:
        used.add(text)
    rec = pick("recommend", yes_no)
    brand = pick("brand")
    lang = pick("language")
    stage = pick("stage")
    times = [c for c in cols if c not in used and _match(c, "time") and _date_style(df[c])]
    time = times[0] if times else next((c for c in cols if c not in used and _date_style(df[c]) in
                                         ("dayfirst", "monthfirst", "CONFIRM")), None)
    if time:
        used.add(time)
    rid = pick("id")
    if text is not None:
        v = df[text].dropna().astype(str)
        g.arabic = float(v.str.contains(r"[\u0600-\u06FF]").mean()) if len(v) else 0.0

    if churn and cid:
        g.table = "customers"
        g.columns = {cid: "customer_id", churn: "churned"}
        vals = sorted(set(df[churn].dropna().astype(str).str.strip()))
        g.values["churned"] = {v: v.lower() in _YES for v in vals}
        if inverse_only(churn):
            g.values["churned"] = {v: v.lower() not in _YES for v in vals}
            g.notes.append(f"'{churn}' looks like an active flag: churned = not active (check the values map)")
    elif session and event and time:
        g.table = "web_events"
        g.columns = {session: "session_id", event: "event", time: "event_time"}
        if cid:
            g.columns[cid] = "customer_id"
    elif order and cid and time:
        g.table = "orders"
        g.columns = {order: "order_id", cid: "customer_id", time: "order_time"}
        if amount:
            g.columns[amount] = "amount"
    elif text and brand and not (nps or csat):
        g.table = "verbatims"
        g.columns = {text: "text", brand: "brand"}
        g.constants["source"] = "social"
        if time:
            g.columns[time] = "verbatim_time"
        if rid:
            g.columns[rid] = "verbatim_id"
    elif nps or csat or ces or rec:
        g.table = "survey_responses"
        for c, canon in ((nps, "nps"), (csat, "csat"), (ces, "ces"), (text, "comment"), (rec, "recommend"),
                         (stage, "stage"), (cid, "customer_id"), (time, "response_time"), (rid, "response_id")):
            if c:
                g.columns[c] = canon
        if rec:
            g.values["recommend"] = {v: v.lower() in _YES for v in sorted(set(df[rec].dropna().astype(str).str.strip()))}
        for c, canon in ((nps, "nps"), (csat, "csat"), (ces, "ces")):
            if c and scales.get(c):  # labelled points: read as their numbers
                g.values[canon] = scales[c]
        if nps and not (csat or ces):
            g.constants["survey_type"] = "relationship"
        elif nps:  # one questionnaire asking both: no survey type, so every measure counts every answer
            g.notes.append("NPS and satisfaction/effort in one survey: no survey_type, so each is computed on every "
                           "response (set constants: {survey_type: relationship} to keep NPS only)")
    elif text:
        g.table = "verbatims"
        g.columns = {text: "text"}
        if time:
            g.columns[time] = "verbatim_time"
        if rid:
            g.columns[rid] = "verbatim_id"
    else:
        g.table = ""
        g.notes.append("no known shape: map it by hand (see README, Bring your own data)")
        return g
    own_source = any(_key(c) == "source" for c in cols)  # the export says it per row
    if g.table == "verbatims" and "source" not in g.constants and not own_source:  # by the file's name
        kind = next((src for src, words in _SOURCE_WORDS.items() if any(w in _key(path.stem) for w in words)), None)
        if kind is None and any("tweet" in _key(c) for c in cols):  # tweet_id, tweet_text: a social export
            kind = "social"
        if kind:
            g.constants["source"] = kind
    # who wrote each text, where a support export flags it (inbound: the customer; outbound: the brand)
    way = next((c for c in cols if c not in used and _key(c) in ("inbound", "isinbound", "outbound", "isoutbound")
                and yes_no(c)), None)
    if way and g.table == "verbatims" and "speaker" not in g.columns.values():
        g.columns[way] = "speaker"
        inbound = "in" in _key(way)
        g.values["speaker"] = {v: "customer" if (v.lower() in _YES) == inbound else "agent"
                               for v in sorted(set(df[way].dropna().astype(str).str.strip()))}
    if lang and g.table in ("survey_responses", "verbatims"):
        g.columns[lang] = "language"
    # a language or source column in the export's own words ("English", "yelp"): mapped onto the allowed
    # values (a column named like the canonical one is read as it even when not mapped)
    for canon in ("language", "source"):
        col = next((c for c, t in g.columns.items() if t == canon), None)
        if col is None and g.table in ("survey_responses", "verbatims") and canon not in g.constants:
            col = next((c for c in cols if c not in used and _key(c) == canon), None)
        if col is not None and (m := _allowed_map(df[col], canon)):
            g.values[canon] = m
    canon_time = {"survey_responses": "response_time", "verbatims": "verbatim_time", "orders": "order_time",
                  "web_events": "event_time"}.get(g.table)
    if time and canon_time and g.columns.get(time) == canon_time:
        style = _date_style(df[time])
        if style in ("dayfirst", "monthfirst", "CONFIRM"):
            g.dates[canon_time] = style
    return g


def _yaml(v) -> str:
    import json

    return json.dumps(v, ensure_ascii=False)


def _source_lines(g: FileGuess, first: str, pad: str) -> list[str]:
    """The params lines of one file's source (``first`` opens its first line: a list item or not)."""
    lines = [f"{first}file: {_yaml(g.file)}"]
    if g.encoding != "auto":
        lines.append(f"{pad}encoding: {g.encoding}   # detected")
    if g.decimal != ".":
        lines.append(f"{pad}decimal: {_yaml(g.decimal)}   # detected: numbers written 12,50 (1.234,56)")
    if g.header_line != 1:
        lines.append(f"{pad}header_line: {g.header_line}   # detected: a title stands above the column names")
    if g.columns:
        lines.append(f"{pad}columns:   # guess: export column -> canonical column")
        lines += [f"{pad}  {_yaml(k)}: {v}" for k, v in g.columns.items()]
    if g.constants:
        lines.append(f"{pad}constants:   # guess")
        lines += [f"{pad}  {k}: {_yaml(v)}" for k, v in g.constants.items()]
    if g.values:
        lines.append(f"{pad}values:   # guess: labels -> canonical values")
        for col, mapping in g.values.items():
            lines.append(f"{pad}  {col}: {{{', '.join(f'{_yaml(k)}: {_yaml(v)}' for k, v in mapping.items())}}}")
    if g.dates:
        lines.append(f"{pad}dates:")
        for col, style in g.dates.items():
            if style == "CONFIRM":
                lines.append(f"{pad}  {col}: dayfirst   # CONFIRM: day and month are both 12 or less in every row "
                             "of the sample; dayfirst = 31/01, monthfirst = 01/31")
            else:
                lines.append(f"{pad}  {col}: {style}   # detected: a day above 12 shows it")
    lines += [f"{pad}# note: {n}" for n in g.notes]
    return lines


def draft_params(client: str, *, force: bool = False) -> tuple[Path, str]:
    """Write ``params/<client>.yml`` from ``data/<client>/``; return its path and a summary."""
    paths.check_client_name(client)
    folder = paths.DATA_DIR / client
    if not folder.is_dir():
        raise ParameterError(f"{folder} does not exist: put the client's exports there first.")
    out = paths.PARAMS_DIR / f"{client}.yml"
    if out.exists() and not force:
        raise ParameterError(f"{out} already exists; add --force (FORCE=1) to overwrite it.")
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in _SUFFIXES and not f.name.startswith("."))
    if not files:
        raise ParameterError(f"{folder} has no CSV, Excel or Parquet file.")
    guesses, summary = [], []
    for f in files:
        g = guess_file(f)
        if not g.table:
            summary.append(f"  {f.name}: not used ({'; '.join(g.notes)})")
            continue
        # a second file of one table (a social export beside the reviews, another month) is stacked
        also = sum(x.table == g.table for x in guesses)
        guesses.append(g)
        summary.append(f"  {f.name}: {g.table} ({g.rows:,} rows; {len(g.columns)} columns mapped"
                       + (f"; stacked with the {g.table} file before it" if also else "") + ")")
    if not guesses:
        raise ParameterError(f"no file in {folder} looks like a table the template reads; write params by hand.")
    arabic = max((g.arabic for g in guesses), default=0.0)
    lines = [f"# Drafted by `make new-client CLIENT={client}` from data/{client}/.",
             "# Every line marked 'guess' is the template's guess: confirm or fix it, then run `make check`.",
             f"client: {client}", f"name: {_yaml(client.replace('-', ' ').title())}   # guess: the name on the report",
             f"language: {'ar' if arabic >= 0.5 else 'en'}   # guess: {arabic:.0%} of texts have Arabic letters",
             f"data_dir: data/{client}", "tables:"]
    for table in dict.fromkeys(g.table for g in guesses):
        mine = [g for g in guesses if g.table == table]
        if len(mine) == 1:
            lines.append(f"  {table}:   # guess: {mine[0].file} looks like {table}")
            lines += _source_lines(mine[0], "    ", "    ")
        else:
            lines.append(f"  {table}:   # guess: {len(mine)} files look like {table}; their rows are stacked")
            for g in mine:
                lines += _source_lines(g, "    - ", "      ")
    text = "\n".join(lines) + "\n"
    out.write_text(text, encoding="utf-8")
    return out, "\n".join([f"{client}: {len({g.table for g in guesses})} table(s) drafted from {len(files)} file(s)",
                            *summary])
