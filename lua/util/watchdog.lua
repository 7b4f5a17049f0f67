-- util.watchdog: calls `callback(watchdog)` once `timeout` seconds pass without a
-- `reset()`; a numeric return re-arms it that many seconds later. `cancel()` stops it.

local timer = require "util.timer";

local M = {};
local methods = {};
local mt = { __index = methods };

function M.new(timeout, callback)
	local w = setmetatable({ timeout = timeout, callback = callback }, mt);
	w:reset();
	return w;
end

function methods:reset()
	if self.timer_id then timer.stop(self.timer_id); end
	self.last_reset = os.time();
	self.timer_id = timer.add_task(self.timeout, function()
		self.timer_id = nil;
		local again = self:callback();
		if type(again) == "number" then
			self.timeout = again;
			self:reset();
		end
	end);
end

function methods:cancel()
	if self.timer_id then timer.stop(self.timer_id); end
	self.timer_id = nil;
end

return M;
