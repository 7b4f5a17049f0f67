-- util.time: wall-clock seconds with sub-second precision, and a monotonic clock.

local native = require "lilt.native";

local M = {};
M.now = native.now;
M.monotonic = native.monotonic;
return M;
