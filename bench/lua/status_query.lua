-- GetSendStatus for one accepted message (bench/run.py puts its SMSID in the URL): answered 100.
expected = '"CodeResponse":"100"'
dofile(string.gsub(debug.getinfo(1, "S").source, "^@(.*/)[^/]*$", "%1") .. "answers.lua")
