-- util.timer (reference §3.3): tasks run on the core thread's timer queue; a numeric
-- return re-arms the task that many seconds later. Task ids stay stable across re-arms.

local native = require "lilt.native";
local xpcall = require "lilt.raw".xpcall;

local M = {};
local tasks = {};      -- task id -> task
local by_native = {};  -- native timer id -> task id
local next_id = 0;

local function arm(task, delay)
	local nid = native.timer_add(delay);
	task.native_id = nid;
	by_native[nid] = task.id;
end

function M.add_task(delay, callback, param)
	next_id = next_id + 1;
	local task = { id = next_id, callback = callback, param = param };
	tasks[next_id] = task;
	arm(task, delay);
	return next_id;
end

function M.stop(id)
	local task = tasks[id];
	if not task then return; end
	tasks[id] = nil;
	by_native[task.native_id] = nil;
	native.timer_cancel(task.native_id);
end

function M.reschedule(id, delay)
	local task = tasks[id];
	if not task then return nil; end
	by_native[task.native_id] = nil;
	native.timer_cancel(task.native_id);
	arm(task, delay);
	return id;
end

function M._fire(nid)
	local id = by_native[nid];
	by_native[nid] = nil;
	local task = id and tasks[id];
	if not task then return; end
	local ok, ret = xpcall(task.callback, function(e) return debug.traceback(tostring(e), 2); end,
		native.now(), id, task.param);
	if not ok then
		native.log("error", "timer", "Error in timer callback: " .. tostring(ret));
	end
	if ok and type(ret) == "number" and tasks[id] == task then
		arm(task, ret);
	elseif tasks[id] == task and task.native_id == nid then
		tasks[id] = nil;
	end
end

return M;
