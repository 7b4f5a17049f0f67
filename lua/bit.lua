-- `bit` (LuaBitOp's API) on Lua 5.4's integer operators, for plugins written for 5.1.

local M = {};

local function u32(x) return x & 0xffffffff; end
local function s32(x) x = u32(x); if x >= 0x80000000 then return x - 0x100000000; end return x; end

function M.tobit(x) return s32(math.tointeger(x) or math.floor(x)); end
function M.band(a, ...) for _, b in ipairs({ ... }) do a = a & b; end return s32(a); end
function M.bor(a, ...) for _, b in ipairs({ ... }) do a = a | b; end return s32(a); end
function M.bxor(a, ...) for _, b in ipairs({ ... }) do a = a ~ b; end return s32(a); end
function M.bnot(a) return s32(~a); end
function M.lshift(a, n) return s32(u32(a) << (n & 31)); end
function M.rshift(a, n) return s32(u32(a) >> (n & 31)); end
function M.arshift(a, n) return s32(s32(a) >> (n & 31) | (s32(a) < 0 and ~(0xffffffff >> (n & 31)) or 0)); end
function M.tohex(x, n)
	n = n or 8;
	return string.format("%0" .. math.abs(n) .. (n < 0 and "X" or "x"), u32(x)):sub(-math.abs(n));
end

return M;
