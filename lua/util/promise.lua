-- util.promise (reference §3.8): promises settled once; callbacks run when the promise
-- settles (or at once when already settled), `next` chains, `all`, `race`, `all_settled`.

local M = {};
local promise_mt = { __name = "promise" };
promise_mt.__index = promise_mt;

local function is_promise(o) return getmetatable(o) == promise_mt; end
M.is_promise = is_promise;

local function settle(p, state, value)
	if p._state ~= "pending" then return; end
	p._state, p.value = state, value;
	local list = state == "fulfilled" and p._on_ok or p._on_err;
	p._on_ok, p._on_err = nil, nil;
	for _, cb in ipairs(list) do cb(value); end
end

local function resolver(p)
	local done = false;
	local function resolve(v)
		if done then return; end
		done = true;
		if is_promise(v) then
			v:next(function(x) settle(p, "fulfilled", x); end, function(e) settle(p, "rejected", e); end);
		else
			settle(p, "fulfilled", v);
		end
	end
	local function reject(e)
		if done then return; end
		done = true;
		settle(p, "rejected", e);
	end
	return resolve, reject;
end

function M.new(fn)
	local p = setmetatable({ _state = "pending", _on_ok = {}, _on_err = {} }, promise_mt);
	if fn then
		local resolve, reject = resolver(p);
		local ok, err = pcall(fn, resolve, reject);
		if not ok then reject(err); end
	end
	return p;
end

function promise_mt:next(on_ok, on_err)
	return M.new(function(resolve, reject)
		local function wrap(cb, fallback)
			return function(v)
				if not cb then return fallback(v); end
				local ok, ret = pcall(cb, v);
				if ok then resolve(ret) else reject(ret) end
			end;
		end
		local ok_cb, err_cb = wrap(on_ok, resolve), wrap(on_err, reject);
		if self._state == "fulfilled" then ok_cb(self.value);
		elseif self._state == "rejected" then err_cb(self.value);
		else
			self._on_ok[#self._on_ok + 1] = ok_cb;
			self._on_err[#self._on_err + 1] = err_cb;
		end
	end);
end

function promise_mt:catch(on_err) return self:next(nil, on_err); end
function promise_mt:finally(fn)
	return self:next(function(v) fn(); return v; end, function(e) fn(); error(e, 0); end);
end

function M.resolve(v) return M.new(function(resolve) resolve(v); end); end
function M.reject(e) return M.new(function(_, reject) reject(e); end); end

function M.all(list)
	return M.new(function(resolve, reject)
		local results, count, n = {}, 0, #list;
		if n == 0 then resolve(results); return; end
		for i, p in ipairs(list) do
			if not is_promise(p) then p = M.resolve(p); end
			p:next(function(v)
				results[i] = v;
				count = count + 1;
				if count == n then resolve(results); end
			end, reject);
		end
	end);
end

function M.all_settled(list)
	return M.new(function(resolve)
		local results, count, n = {}, 0, #list;
		if n == 0 then resolve(results); return; end
		for i, p in ipairs(list) do
			if not is_promise(p) then p = M.resolve(p); end
			p:next(function(v)
				results[i] = { status = "fulfilled", value = v };
				count = count + 1;
				if count == n then resolve(results); end
			end, function(e)
				results[i] = { status = "rejected", reason = e };
				count = count + 1;
				if count == n then resolve(results); end
			end);
		end
	end);
end

function M.race(list)
	return M.new(function(resolve, reject)
		for _, p in ipairs(list) do
			if not is_promise(p) then p = M.resolve(p); end
			p:next(resolve, reject);
		end
	end);
end

return M;
