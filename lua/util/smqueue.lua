-- util.smqueue: XEP-0198's outgoing queue — `push` counts a stanza sent, `ack(h)` drops
-- what the peer acknowledged (h counts from the start of the stream), and the queue can
-- be resumed while it still holds every unacknowledged stanza.

local queue = require "util.queue";

local M = {};
local methods = {};
local mt = { __name = "smqueue", __index = methods };

function M.new(size)
	return setmetatable({ _queue = queue.new(size, true), _head = 0, _tail = 0 }, mt);
end

function methods:push(item)
	self._head = self._head + 1;
	self._queue:push(item);
end

-- Returns the acknowledged items, or nil and an error when h is impossible.
function methods:ack(h)
	if h < self._tail then return nil, "tail"; end
	if h > self._head then return nil, "head"; end
	local acked = {};
	while self._tail < h do
		self._tail = self._tail + 1;
		acked[#acked + 1] = self._queue:pop();
	end
	return acked;
end

function methods:count_unacked() return self._head - self._tail; end
function methods:count_acked() return self._tail; end
function methods:resumable() return self._queue:count() >= self._head - self._tail; end
function methods:resume() return self._queue:items(); end
function methods:consume() return self._queue:consume(); end
function methods:table()
	local t = {};
	for i, item in self._queue:items() do t[i] = item; end
	return t;
end

mt.__len = methods.count_unacked;
function mt.__freeze(q) return { head = q._head, tail = q._tail }; end

return M;
