-- util.dbuffer: a byte buffer made of chunks, for protocol parsers — write chunks, read
-- or discard a number of bytes (or up to a delimiter), peek with `sub`/`byte`.

local M = {};
local methods = {};
local mt = { __name = "dbuffer", __index = methods };

function M.new(max_size, max_chunks)
	if max_size and max_size <= 0 then return nil; end
	return setmetatable({
		chunks = {}, first = 1, last = 0, offset = 0, len = 0,
		max_size = max_size, max_chunks = max_chunks,
	}, mt);
end

function methods:write(data)
	if self.max_size and self.len + #data > self.max_size then return nil; end
	if self.max_chunks and self.last - self.first + 1 >= self.max_chunks then self:collapse(); end
	self.last = self.last + 1;
	self.chunks[self.last] = data;
	self.len = self.len + #data;
	return true;
end

function methods:length() return self.len; end
mt.__len = methods.length;

-- The rest of the first chunk, or up to `n` bytes of it.
function methods:read_chunk(n)
	local chunk = self.chunks[self.first];
	if not chunk then return nil; end
	local available = #chunk - self.offset;
	n = n and math.min(n, available) or available;
	local out = chunk:sub(self.offset + 1, self.offset + n);
	self.offset = self.offset + n;
	self.len = self.len - n;
	if self.offset >= #chunk then
		self.chunks[self.first] = nil;
		self.first = self.first + 1;
		self.offset = 0;
	end
	return out, n;
end

function methods:read(n)
	if n == nil then
		if self.len == 0 then return nil; end
		return self:read_chunk();
	end
	if n > self.len then return nil; end
	local parts = {};
	while n > 0 do
		local part, got = self:read_chunk(n);
		parts[#parts + 1] = part;
		n = n - got;
	end
	return table.concat(parts);
end

function methods:read_until(char)
	local pos = self:sub(1):find(char, 1, true);
	if not pos then return nil; end
	return self:read(pos);
end

function methods:discard(n)
	if n > self.len then n = self.len; end
	self:read(n);
	return self;
end

function methods:collapse(bytes)
	local all = {};
	for i = self.first, self.last do all[#all + 1] = self.chunks[i]; end
	local s = table.concat(all):sub(self.offset + 1);
	self.chunks = { s };
	self.first, self.last, self.offset = 1, 1, 0;
	if bytes then return s:sub(1, bytes); end
	return s;
end

function methods:sub(i, j)
	local s = self:collapse();
	return s:sub(i or 1, j or -1);
end

function methods:byte(i, j)
	return self:sub(1):byte(i or 1, j or i or 1);
end

return M;
