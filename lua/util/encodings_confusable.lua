-- util.encodings.confusable: `skeleton(s)` maps visually confusable characters to one
-- representative (UTS #39 in spirit), so "раypal" (Cyrillic а) and "paypal" compare
-- equal. Lilt covers the Latin look-alikes from Cyrillic, Greek and full-width forms.

local M = {};

local map = {
	["а"] = "a", ["е"] = "e", ["о"] = "o", ["р"] = "p", ["с"] = "c", ["у"] = "y", ["х"] = "x",
	["і"] = "i", ["ј"] = "j", ["ѕ"] = "s", ["ԁ"] = "d", ["һ"] = "h", ["ԛ"] = "q", ["ԝ"] = "w",
	["А"] = "A", ["В"] = "B", ["Е"] = "E", ["К"] = "K", ["М"] = "M", ["Н"] = "H", ["О"] = "O",
	["Р"] = "P", ["С"] = "C", ["Т"] = "T", ["Х"] = "X", ["І"] = "l", ["Ј"] = "J", ["Ѕ"] = "S",
	["α"] = "a", ["ο"] = "o", ["ν"] = "v", ["ι"] = "i", ["κ"] = "k", ["ρ"] = "p", ["τ"] = "t",
	["Α"] = "A", ["Β"] = "B", ["Ε"] = "E", ["Ζ"] = "Z", ["Η"] = "H", ["Ι"] = "l", ["Κ"] = "K",
	["Μ"] = "M", ["Ν"] = "N", ["Ο"] = "O", ["Ρ"] = "P", ["Τ"] = "T", ["Υ"] = "Y", ["Χ"] = "X",
	["0"] = "O", ["1"] = "l", ["I"] = "l", ["|"] = "l", ["ı"] = "i", ["ℓ"] = "l",
};

function M.skeleton(s)
	if type(s) ~= "string" or not utf8.len(s) then return nil; end
	local out = {};
	for _, cp in utf8.codes(s) do
		local ch = utf8.char(cp);
		if cp >= 0xFF01 and cp <= 0xFF5E then ch = string.char(cp - 0xFEE0); end -- full width
		out[#out + 1] = map[ch] or ch;
	end
	return table.concat(out);
end

return M;
