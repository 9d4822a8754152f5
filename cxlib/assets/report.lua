-- cxlib pandoc filter for the offline renderer (Quarto handles the same things itself).
-- 1. fig-alt="..." (written by cxlib.render.assemble, read by Quarto) becomes the image's
--    alt text instead of a copy of the caption.
-- 2. Text columns of tables align to the start of the line (the right in Arabic).
-- 3. Right-to-left reports: table cells without Arabic letters (numbers, intervals, English
--    names) are laid out left-to-right, so "-14.9" and "[1.2, 3.4]" are not reordered.
-- 4. Typst: notes under tables (::: {.table-note}) and call-outs get their own styling.

local function is_rtl(meta)
  return meta.dir ~= nil and pandoc.utils.stringify(meta.dir) == "rtl"
end

local function has_arabic(s)
  -- UTF-8 lead bytes 0xD8-0xDB encode U+0600-U+06FF (Arabic)
  return s:find("[\216-\219]") ~= nil
end

local function ltr_cell(cell)
  local text = pandoc.utils.stringify(cell.contents)
  if text == "" or has_arabic(text) then
    return cell
  end
  local blocks = cell.contents
  if #blocks == 1 and (blocks[1].t == "Plain" or blocks[1].t == "Para") then
    local inl = blocks[1].content
    if FORMAT:match("typst") then
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
  if FORMAT:match("typst") then
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
  local alt = img.attributes["fig-alt"]
  if alt ~= nil then
    img.attributes["fig-alt"] = nil
    img.caption = pandoc.Inlines(pandoc.Str(alt))
  end
  return img
end

local typst_div = {
  ["table-note"] = { "#block(above: 4pt, below: 12pt)[#set text(size: 8.5pt, fill: luma(95))", "]" },
  ["callout"] = { "#block(width: 100%, inset: 8pt, fill: luma(245), stroke: (left: 3pt + accent))[", "]" },
  ["kpis"] = { "#block(width: 100%, inset: 8pt, fill: luma(245))[", "]" },
}

local function div(d)
  if not FORMAT:match("typst") then
    return nil
  end
  for cls, wrap in pairs(typst_div) do
    if d.classes:includes(cls) then
      local out = pandoc.Blocks({ pandoc.RawBlock("typst", wrap[1]) })
      out:extend(d.content)
      out:insert(pandoc.RawBlock("typst", wrap[2]))
      return out
    end
  end
  return nil
end

function Pandoc(doc)
  local rtl = is_rtl(doc.meta)
  return doc:walk({
    Image = image,
    Div = div,
    Table = function(t)
      local fixed = fix_table(t, rtl)
      -- Typst: wide tables get a smaller type so every column keeps its longest word
      local ncol = #fixed.colspecs
      if FORMAT:match("typst") and ncol >= 7 then
        local size = ncol >= 9 and "7pt" or "7.5pt"
        return {pandoc.RawBlock("typst", "#[#set text(size: " .. size .. ")"), fixed, pandoc.RawBlock("typst", "]")}
      end
      return fixed
    end,
  })
end

-- 5. Persona cards (cxlib.personas): in the PDF each ::: {.persona} is one framed card that
--    never splits across pages; the ::: {.personas} wrapper only spaces them. Segment and role
--    lines ([..]{.persona-segment} / {.persona-role}) get their own typst styling.
typst_div["persona"] = {
  "#block(width: 100%, breakable: true, stroke: (top: 3pt + primary, rest: 0.8pt + luma(200)), radius: 4pt, "
    .. "inset: (x: 10pt, top: 9pt, bottom: 6pt), above: 10pt, below: 10pt)[\n"
    .. "#set text(size: 9pt)\n#set par(spacing: 0.75em)\n"
    .. "#show heading: it => block(above: 0pt, below: 5pt, text(size: 12.5pt, weight: \"bold\", fill: primary, it.body))\n",
  "]",
}
typst_div["personas"] = { "#block(width: 100%, above: 8pt, below: 12pt)[", "]" }

local typst_span = {
  ["persona-segment"] = {
    "#box(fill: accent, inset: (x: 5pt, y: 2pt), outset: (y: 1pt), radius: 6pt)"
      .. "[#text(fill: white, size: 7.5pt, weight: \"bold\")[",
    "]]",
  },
  ["persona-role"] = { "#text(fill: luma(95), style: \"italic\")[", "]" },
}

function Span(s)
  if not FORMAT:match("typst") then
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
