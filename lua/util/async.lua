-- util.async: coroutine runners and waiters. `wait_for(promise)` suspends the current
-- runner until the promise settles; outside a runner it is an error.

local M = {};

function M.checkthread()
	local thread, main = coroutine.running();
	if main then return nil; end
	return thread;
end

function M.ready()
	return M.checkthread() ~= nil;
end

function M.waiter(num)
	local thread = M.checkthread();
	if not thread then error("Not running in an async context", 2); end
	num = num or 1;
	local waiting = true;
	local function wait()
		if num > 0 then waiting = true; coroutine.yield(); end
	end
	local function done()
		num = num - 1;
		if num == 0 and waiting then
			waiting = false;
			local ok, err = coroutine.resume(thread);
			if not ok then error(err, 0); end
		end
	end
	return wait, done;
end

function M.wait_for(promise)
	local thread = M.checkthread();
	if not thread then error("Not running in an async context", 2); end
	local ok, value, settled = nil, nil, false;
	promise:next(function(v)
		ok, value, settled = true, v, true;
		if coroutine.status(thread) == "suspended" then coroutine.resume(thread); end
	end, function(e)
		ok, value, settled = false, e, true;
		if coroutine.status(thread) == "suspended" then coroutine.resume(thread); end
	end);
	if not settled then coroutine.yield(); end
	if ok then return value; end
	return nil, value;
end

function M.runner(func, watchers)
	local r = { func = func, watchers = watchers or {}, state = "ready", queue = {} };
	function r:run(input)
		if input ~= nil then self.queue[#self.queue + 1] = input; end
		while #self.queue > 0 do
			local item = table.remove(self.queue, 1);
			local co = coroutine.create(self.func);
			local ok, err = coroutine.resume(co, item);
			if not ok and self.watchers.error then self.watchers.error(self, err); end
		end
		return true;
	end
	function r:enqueue(input) self.queue[#self.queue + 1] = input; return self; end
	return r;
end

return M;
