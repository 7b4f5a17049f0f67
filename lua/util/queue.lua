-- util.queue: a fixed-size FIFO ring. `push` fails when full unless the queue was made
-- with `allow_wrapping` (then the oldest item is overwritten). Methods are called with
-- `:` (the queue argument is ignored, as in Prosody).

local M = {};

function M.new(size, allow_wrapping)
	local head, tail, count = 1, 1, 0;
	local items = {};
	local q = { size = size };

	function q.count(_) return count; end
	function q.full(_) return count >= size; end

	function q.push(_, item)
		if count >= size then
			if not allow_wrapping then return nil, "queue full"; end
			head = head % size + 1;
			count = count - 1;
		end
		items[tail] = item;
		tail = tail % size + 1;
		count = count + 1;
		return true;
	end

	function q.pop(_)
		if count == 0 then return nil; end
		local item = items[head];
		items[head] = nil;
		head = head % size + 1;
		count = count - 1;
		return item;
	end

	function q.peek(_)
		if count == 0 then return nil; end
		return items[head];
	end

	function q.replace(_, data)
		if count == 0 then return q:push(data); end
		items[head] = data;
		return true;
	end

	function q.items(_)
		local i = 0;
		return function()
			i = i + 1;
			if i > count then return nil; end
			return i, items[(head + i - 2) % size + 1];
		end;
	end

	function q.consume(_)
		return function()
			if count == 0 then return nil; end
			return q:pop();
		end;
	end

	function q.resize(_, new_size)
		local kept = {};
		for _, item in q:items() do kept[#kept + 1] = item; end
		if #kept > new_size then return nil, "queue would overflow"; end
		items, head, tail, count, size = {}, 1, 1, 0, new_size;
		q.size = new_size;
		for _, item in ipairs(kept) do q:push(item); end
		return true;
	end

	return q;
end

return M;
