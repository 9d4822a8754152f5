-- cxlib pandoc filter for the offline renderer (Quarto handles the basic things itself).
-- 1. fig-alt="..." (written by cxlib.render.assemble, read by Quarto) becomes the image's
--    alt text instead of a copy of the caption.
-- 2. Text columns of tables align to the start of the line (the right in Arabic).
-- 3. Right-to-left reports: table cells without Arabic letters (numbers, intervals, English
--    names) are laid out left-to-right, so "-14.9" and "[1.2, 3.4]" are not reordered.
-- 4. HTML: every table sits in a horizontally scrolling container (shadows show that more
--    columns hide to the side; wide tables also get a written hint); figures too.
-- 5. The first screen (::: {.first-screen}, cxlib.report.blocks) is lifted out of the body
--    into the template variable `first-screen`, drawn before the contents (offline only:
--    metadata cx-offline).
-- 6. Typst: KPI tiles as a row of framed boxes, the SWOT as a 2x2 grid, boxed notes, the top
--    findings and actions, persona cards that never split across pages, table notes.

local function is_rtl(meta)
  return meta.dir ~= nil and pandoc.utils.stringify(meta.dir) == "rtl"
end

local function is_typst()
  return FORMAT:match("typst") ~= nil
end

local function has_arabic(s)
  -- UTF-8 lead bytes 0xD8-0xDB encode U+0600-U+06FF (Arabic)
  return s:find("[\216-\219]") ~= nil
end

local function raw(s)
  return pandoc.RawBlock("typst", s)
end

local function ltr_cell(cell)
  local text = pandoc.utils.stringify(cell.contents)
  if text == "" or has_arabic(text) then
    return cell
  end
  local blocks = cell.contents
  if #blocks == 1 and (blocks[1].t == "Plain" or blocks[1].t == "Para") then
    local inl = blocks[1].content
    if is_typst() then
      inl:insert(1, pandoc.RawInline("typst", "#text(dir: ltr)["))
      inl:insert(pandoc.RawInline("typst", "]"))
      blocks[1].content = inl
    else
      blocks[1].content = { pandoc.Span(inl, { dir = "ltr" }) }
    end
    cell.contents = blocks
  end
  return cell
end

local function fix_table(tbl, rtl)
  -- HTML: "default" lets CSS align text columns to the start of the line. Typst: pandoc
  -- centres tables, so "default" would centre the text; use the physical start side.
  local text_align = "AlignDefault"
  if is_typst() then
    text_align = rtl and "AlignRight" or "AlignLeft"
  end
  for i, spec in ipairs(tbl.colspecs) do
    if spec[1] == "AlignLeft" or spec[1] == "AlignDefault" then
      tbl.colspecs[i] = { text_align, spec[2] }
    end
  end
  if rtl then
    local function rows(list)
      for _, row in ipairs(list) do
        for j, c in ipairs(row.cells) do
          row.cells[j] = ltr_cell(c)
        end
      end
    end
    rows(tbl.head.rows)
    for _, body in ipairs(tbl.bodies) do
      rows(body.head)
      rows(body.body)
    end
  end
  return tbl
end

local function image(img)
  -- cx-pdf-width (set by cxlib.report.render for tall charts) sizes the chart in the PDF only
  local pdf_width = img.attributes["cx-pdf-width"]
  img.attributes["cx-pdf-width"] = nil
  if pdf_width ~= nil and is_typst() then
    img.attributes["width"] = pdf_width
  end
  local alt = img.attributes["fig-alt"]
  if alt ~= nil then
    img.attributes["fig-alt"] = nil
    img.caption = pandoc.Inlines(pandoc.Str(alt))
  end
  return img
end

-- --- typst: boxes around fenced divs ----------------------------------------------------
local typst_div = {
  ["table-note"] = { "#block(above: 4pt, below: 12pt)[#set text(size: 8.5pt, fill: luma(95))", "]" },
  ["callout"] = { "#block(width: 100%, inset: 8pt, fill: luma(245), stroke: (left: 3pt + accent))[", "]" },
  ["top-findings"] = {
    "#block(width: 100%, breakable: false, inset: (x: 10pt, y: 8pt), above: 10pt, below: 8pt, radius: 3pt, "
      .. "fill: luma(246), stroke: (left: 3pt + primary))[\n#set par(spacing: 0.65em)\n",
    "]",
  },
  ["top-actions"] = {
    "#block(width: 100%, breakable: false, inset: (x: 10pt, y: 8pt), above: 8pt, below: 10pt, radius: 3pt, "
      .. "fill: luma(246), stroke: (left: 3pt + accent))[\n#set par(spacing: 0.65em)\n",
    "]",
  },
  ["note-info"] = {
    "#block(width: 100%, breakable: false, inset: 9pt, above: 8pt, below: 10pt, radius: 3pt, "
      .. "fill: rgb(\"#eef4fa\"), stroke: 0.8pt + rgb(\"#0072B2\"))[",
    "]",
  },
  ["note-missing"] = {
    "#block(width: 100%, breakable: false, inset: 9pt, above: 8pt, below: 10pt, radius: 3pt, "
      .. "fill: rgb(\"#fdf3ec\"), stroke: (paint: rgb(\"#D55E00\"), thickness: 0.8pt, dash: \"dashed\"))[",
    "]",
  },
  ["not-in-report"] = {
    "#block(width: 100%, breakable: true, inset: 9pt, above: 8pt, below: 10pt, radius: 3pt, "
      .. "stroke: 0.8pt + luma(170))[\n#set par(spacing: 0.65em)\n",
    "]",
  },
  -- Persona cards: one framed card that never splits across pages.
  ["persona"] = {
    "#block(width: 100%, breakable: false, stroke: (top: 3pt + primary, rest: 0.8pt + luma(200)), radius: 4pt, "
      .. "inset: (x: 10pt, top: 9pt, bottom: 6pt), above: 10pt, below: 10pt)[\n"
      .. "#set text(size: 9pt)\n#set par(spacing: 0.75em)\n"
      .. "#show heading: it => block(above: 0pt, below: 5pt, text(size: 12.5pt, weight: \"bold\", fill: primary, it.body))\n",
    "]",
  },
  ["personas"] = { "#block(width: 100%, above: 8pt, below: 12pt)[", "]" },
}

local typst_span = {
  ["persona-segment"] = {
    "#box(fill: accent, inset: (x: 5pt, y: 2pt), outset: (y: 1pt), radius: 6pt)"
      .. "[#text(fill: white, size: 7.5pt, weight: \"bold\")[",
    "]]",
  },
  ["persona-role"] = { "#text(fill: luma(95), style: \"italic\")[", "]" },
  ["kpi-label"] = { "#text(size: 9pt, weight: \"bold\", fill: luma(60))[", "]" },
  ["kpi-value"] = { "#text(size: 20pt, weight: \"bold\", fill: primary)[", "]" },
  ["kpi-na"] = { "#text(size: 14pt, weight: \"bold\", fill: luma(95))[", "]" },
  ["kpi-ci"] = { "#text(size: 7.5pt, fill: luma(95))[", "]" },
  ["kpi-change"] = { "#text(size: 8.5pt, weight: \"bold\", fill: cxtrend)[", "]" },
  ["kpi-badge"] = {
    "#box(stroke: 0.6pt + cxtrend, inset: (x: 3pt, y: 1.5pt), outset: (y: 1pt), radius: 3pt)[#text(size: 7pt, fill: cxtrend)[",
    "]]",
  },
  ["kpi-base"] = { "#text(size: 7.5pt, fill: luma(95))[", "]" },
  ["kpi-reason"] = { "#text(size: 7.5pt, fill: luma(95))[", "]" },
  ["block-title"] = { "#text(size: 11pt, weight: \"bold\", fill: primary)[", "]" },
  ["finding-base"] = { "#text(size: 8pt, fill: luma(95))[", "]" },
  ["finding-link"] = { "#text(size: 8pt)[", "]" },
  ["action-owner"] = {
    "#box(fill: luma(232), inset: (x: 4pt, y: 1.5pt), outset: (y: 1pt), radius: 3pt)[#text(size: 8pt)[",
    "]]",
  },
  ["action-impact"] = { "#text(size: 8pt, fill: luma(95))[", "]" },
  ["action-why"] = { "#text(size: 8pt, fill: luma(95))[", "]" },
  ["swot-title"] = { "#text(size: 11pt, weight: \"bold\", fill: primary)[", "]" },
  ["swot-hint"] = { "#text(size: 7.5pt, fill: luma(95), style: \"italic\")[", "]" },
  ["swot-evidence"] = { "#linebreak()#text(size: 7.5pt, fill: luma(95))[", "]" },
  ["swot-empty"] = { "#text(size: 8.5pt, fill: luma(95), style: \"italic\")[", "]" },
  ["note-title"] = { "#text(weight: \"bold\")[", "]" },
}

local TREND = {
  ["kpi-better"] = "rgb(\"#0072B2\")",
  ["kpi-worse"] = "rgb(\"#D55E00\")",
}

local function children_with(d, cls)
  local kids = {}
  for _, b in ipairs(d.content) do
    if b.t == "Div" and b.classes:includes(cls) then
      kids[#kids + 1] = b
    end
  end
  return kids
end

-- A grid of framed cells, one per child div (cells of a row share its height);
-- `cell(child)` gives the cell's top-border colour and the code that opens its content.
-- With `split_rows`, each row is its own unbreakable block, so a page may turn between rows
-- (a SWOT's strengths and weaknesses, then its opportunities and threats) instead of pushing
-- the whole grid to the next page.
local function typst_grid(kids, columns, cell, split_rows)
  local cols = {}
  for _ = 1, columns do
    cols[#cols + 1] = "1fr"
  end
  local open = "#block(width: 100%, breakable: false, above: 8pt, below: 12pt)[#grid(columns: ("
    .. table.concat(cols, ", ") .. "), column-gutter: 8pt, row-gutter: 8pt, inset: (x: 8pt, y: 7pt),"
  local out = pandoc.Blocks({ raw(open) })
  for i, k in ipairs(kids) do
    if split_rows and i > 1 and (i - 1) % columns == 0 then
      out:insert(raw(")]"))
      out:insert(raw(open))
    end
    local top, prelude = cell(k)
    out:insert(raw("grid.cell(stroke: (top: 3pt + " .. top .. ", rest: 0.6pt + luma(200)))[\n" .. prelude))
    out:extend(k.content)
    out:insert(raw("],"))
  end
  out:insert(raw(")]"))
  return out
end

local function kpis_typst(d)
  local kids = children_with(d, "kpi")
  local n = #kids
  local columns = n <= 4 and math.max(n, 1) or 3
  return typst_grid(kids, columns, function(k)
    local trend, top = "luma(95)", "primary"
    for cls, colour in pairs(TREND) do
      if k.classes:includes(cls) then
        trend, top = colour, colour
      end
    end
    if k.classes:includes("kpi-missing") then
      top = "luma(200)"
    end
    return top, "#let cxtrend = " .. trend .. "\n#set par(spacing: 0.55em, leading: 0.5em)\n"
  end)
end

local SWOT_COLOURS = {
  ["swot-strengths"] = "rgb(\"#0072B2\")",
  ["swot-weaknesses"] = "rgb(\"#D55E00\")",
  ["swot-opportunities"] = "rgb(\"#56B4E9\")",
  ["swot-threats"] = "rgb(\"#CC79A7\")",
}

local function swot_typst(d)
  return typst_grid(children_with(d, "swot-q"), 2, function(k)
    local top = "primary"
    for cls, colour in pairs(SWOT_COLOURS) do
      if k.classes:includes(cls) then
        top = colour
      end
    end
    return top, "#set text(size: 9pt)\n#set par(spacing: 0.6em)\n"
  end, true)
end

local function div_typst(d)
  if d.classes:includes("kpis") then
    return kpis_typst(d)
  end
  if d.classes:includes("swot") then
    return swot_typst(d)
  end
  -- a block in the other direction (an English quote in an Arabic report): its own text direction
  local dir = d.attributes.dir
  local turn = dir == "ltr" or dir == "rtl"
  for cls, wrap in pairs(typst_div) do
    if d.classes:includes(cls) then
      local out = pandoc.Blocks({ raw(wrap[1]) })
      if turn then
        out:insert(raw("#[#set text(dir: " .. dir .. ")"))
      end
      out:extend(d.content)
      if turn then
        out:insert(raw("]"))
      end
      out:insert(raw(wrap[2]))
      return out
    end
  end
  if turn then
    local out = pandoc.Blocks({ raw("#[#set text(dir: " .. dir .. ")") })
    out:extend(d.content)
    out:insert(raw("]"))
    return out
  end
  return nil
end

-- --- HTML: scroll containers ------------------------------------------------------------
local function scroll_box(block, cls, hint)
  local box = pandoc.Div({ block }, pandoc.Attr("", { "cx-scroll" }, { { "tabindex", "0" }, { "role", "region" } }))
  if hint ~= nil and hint ~= "" then
    -- the hint sits under the scrolling area, so it stays in view
    local note = pandoc.Para({ pandoc.Span({ pandoc.Str(hint) }, pandoc.Attr("", { "scroll-hint" })) })
    return pandoc.Div({ box, note }, pandoc.Attr("", { cls, "has-hint" }))
  end
  return pandoc.Div({ box }, pandoc.Attr("", { cls }))
end

local function wide_table(tbl)
  -- wide: many columns or many characters in a row (pipe-table dash widths, see display.py)
  local ncol = #tbl.colspecs
  if ncol >= 6 then
    return true
  end
  local chars = 0
  for _, row in ipairs(tbl.bodies[1] and tbl.bodies[1].body or {}) do
    local n = 0
    for _, c in ipairs(row.cells) do
      n = n + #pandoc.utils.stringify(c.contents)
    end
    chars = math.max(chars, n)
  end
  return chars > 70
end

-- --- the document ---------------------------------------------------------------------------
local function lift_first_screen(doc)
  local first, rest = pandoc.Blocks({}), pandoc.Blocks({})
  for _, b in ipairs(doc.blocks) do
    if b.t == "Div" and b.classes:includes("first-screen") then
      -- nested first-screen divs (a tagged cell that built its own) become one
      local inner = pandoc.Blocks({})
      for _, c in ipairs(b.content) do
        if c.t == "Div" and c.classes:includes("first-screen") then
          inner:extend(c.content)
        else
          inner:insert(c)
        end
      end
      first:extend(inner)
    else
      rest:insert(b)
    end
  end
  if #first > 0 then
    doc.meta["first-screen"] = pandoc.MetaBlocks({ pandoc.Div(first, pandoc.Attr("first-screen", { "first-screen" })) })
    doc.blocks = rest
  end
  return doc
end

function Pandoc(doc)
  local rtl = is_rtl(doc.meta)
  local scroll_hint = doc.meta["cx-scroll-hint"] and pandoc.utils.stringify(doc.meta["cx-scroll-hint"]) or nil
  local figure_hint = doc.meta["cx-figure-hint"] and pandoc.utils.stringify(doc.meta["cx-figure-hint"]) or nil
  local html = FORMAT:match("html") ~= nil
  doc = doc:walk({
    Image = image,
    Div = function(d)
      if is_typst() then
        return div_typst(d)
      end
      return nil
    end,
    Table = function(t)
      local fixed = fix_table(t, rtl)
      local ncol = #fixed.colspecs
      if is_typst() and ncol >= 7 then
        -- wide tables get a smaller type so every column keeps its longest word
        local size = ncol >= 9 and "7pt" or "7.5pt"
        return { raw("#[#set text(size: " .. size .. ")"), fixed, raw("]") }
      end
      if html then
        local box = scroll_box(fixed, "table-wrap", wide_table(fixed) and scroll_hint or nil)
        if ncol >= 9 then
          box.classes:insert("very-wide")
        end
        return box
      end
      return fixed
    end,
  })
  if html then
    -- figures: a scrolling container (a phone shows them at a readable minimum width)
    doc = doc:walk({
      Figure = function(f)
        return scroll_box(f, "figure-wrap", figure_hint)
      end,
    })
  end
  if doc.meta["cx-offline"] and (html or is_typst()) then
    doc = lift_first_screen(doc)
  end
  return doc
end

function Span(s)
  if not is_typst() then
    return nil
  end
  local out = pandoc.Inlines(s.content)
  local changed = false
  if s.attributes.dir == "ltr" then
    -- English values inside an Arabic persona card keep their word order: a Unicode
    -- left-to-right isolate (LRI ... PDI), as <span dir="ltr"> is in HTML; #text(dir: ltr)
    -- would turn a whole list item left-to-right, bullet included.
    out:insert(1, pandoc.Str("\u{2066}"))
    out:insert(pandoc.Str("\u{2069}"))
    changed = true
  end
  for cls, wrap in pairs(typst_span) do
    if s.classes:includes(cls) then
      out:insert(1, pandoc.RawInline("typst", wrap[1]))
      out:insert(pandoc.RawInline("typst", wrap[2]))
      changed = true
    end
  end
  if changed then
    return out
  end
  return nil
end
