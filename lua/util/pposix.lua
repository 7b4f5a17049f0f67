-- util.pposix for plugins: the process facts plugins read (pid, uname, errno names,
-- limits). Process control (daemonising, setuid, syslog) is Lilt's own and not offered.

local native = require "lilt.native";

local M = {
	ENOENT = 2, EEXIST = 17, EACCES = 13, EINVAL = 22, ENOSPC = 28,
	_VERSION = "lilt",
};

function M.getpid() return native.getpid(); end
function M.uname()
	return { sysname = "Linux", nodename = "localhost", release = "", version = "", machine = "" };
end
function M.getrlimit() return true, "unlimited", "unlimited"; end
function M.setrlimit() return false, "not supported"; end
function M.umask() return "027"; end
function M.isatty() return false; end
function M.syslog_open() end
function M.syslog_log() end
function M.syslog_close() end
function M.fallocate() return nil, "not supported"; end
function M.atomic_append(f, data)
	local ok, err = f:write(data);
	if not ok then return nil, err; end
	return true;
end

return M;
