-- util.xpcall: the standard xpcall (extra arguments are supported by Lua 5.4 itself).
return { xpcall = xpcall };
