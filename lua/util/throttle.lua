-- util.throttle (reference §7): a token bucket — `max` tokens refilled over `period`.

local native = require "lilt.native";

local M = {};
local throttle_mt = {};
throttle_mt.__index = throttle_mt;

function M.create(max, period)
	return setmetatable({ rate = max / period, max = max, t = native.now(), balance = max }, throttle_mt);
end

function throttle_mt:update()
	local now = native.now();
	local elapsed = now - self.t;
	self.t = now;
	self.balance = math.min(self.max, self.balance + elapsed * self.rate);
end

function throttle_mt:peek(cost)
	cost = cost or 1;
	self:update();
	return self.balance >= cost or self.balance == self.max;
end

function throttle_mt:poll(cost, split)
	cost = cost or 1;
	if self:peek(cost) then
		self.balance = self.balance - cost;
		return true;
	end
	if split then
		local taken = self.balance;
		self.balance = 0;
		return false, taken, cost - taken;
	end
	return false;
end

return M;
