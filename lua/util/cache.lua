-- util.cache: a bounded LRU map with an eviction callback.

local M = {};
local cache_mt = { __name = "cache" };
cache_mt.__index = cache_mt;

function M.new(size, on_evict)
	assert(size and size > 0, "cache size must be greater than zero");
	return setmetatable({ size = size, on_evict = on_evict, _data = {}, _order = {}, _count = 0 }, cache_mt);
end

local function touch(self, key)
	local order = self._order;
	for i = #order, 1, -1 do
		if order[i] == key then table.remove(order, i); break; end
	end
	order[#order + 1] = key;
end

function cache_mt:set(key, value)
	if value == nil then
		if self._data[key] ~= nil then
			self._data[key] = nil;
			self._count = self._count - 1;
			for i = #self._order, 1, -1 do
				if self._order[i] == key then table.remove(self._order, i); break; end
			end
		end
		return true;
	end
	if self._data[key] == nil then
		if self._count >= self.size then
			local evicted = self._order[1];
			local evicted_value = self._data[evicted];
			if self.on_evict and self.on_evict(evicted, evicted_value) == false then
				return false;
			end
			table.remove(self._order, 1);
			self._data[evicted] = nil;
			self._count = self._count - 1;
		end
		self._count = self._count + 1;
	end
	self._data[key] = value;
	touch(self, key);
	return true;
end

function cache_mt:get(key)
	local v = self._data[key];
	if v ~= nil then touch(self, key); end
	return v;
end

function cache_mt:count() return self._count; end
function cache_mt:head() local k = self._order[#self._order]; return k, self._data[k]; end
function cache_mt:tail() local k = self._order[1]; return k, self._data[k]; end
function cache_mt:items()
	local i = #self._order + 1;
	return function()
		i = i - 1;
		local k = self._order[i];
		if k ~= nil then return k, self._data[k]; end
	end;
end
function cache_mt:values()
	local it = self:items();
	return function() local _, v = it(); return v; end;
end
function cache_mt:resize(size)
	self.size = size;
	while self._count > size do
		local k = table.remove(self._order, 1);
		if self.on_evict then self.on_evict(k, self._data[k]); end
		self._data[k] = nil;
		self._count = self._count - 1;
	end
end
function cache_mt:clear()
	self._data, self._order, self._count = {}, {}, 0;
end
function cache_mt:table()
	return setmetatable({}, {
		__index = function(_, k) return self:get(k); end,
		__newindex = function(_, k, v) self:set(k, v); end,
	});
end

return M;
