-- A valid SendZaloMessage_V5_post, each request with its own RequestId (eSMS refuses a repeat with
-- 124). The RequestIds are unique per thread (thread_index) and per run (the nonce that bench/run.py
-- passes after `--`), so no request of a run, or of an earlier run on the same database, repeats one.
expected = '"CodeResult":"100"'
dofile(string.gsub(debug.getinfo(1, "S").source, "^@(.*/)[^/]*$", "%1") .. "answers.lua")

local counter = 0
local prefix = ""

function init(args)
  prefix = "bench-" .. (args[1] or tostring(os.time())) .. "-" .. tostring(thread_index) .. "-"
end

request = function()
  counter = counter + 1
  local body = '{"ApiKey":"DEMO_API_KEY","SecretKey":"DEMO_SECRET_KEY","OAID":"4097311281936189049",' ..
    '"Phone":"0901888484","TempID":"205644","TempData":[{"key":"otp","value":"123456"}],' ..
    '"RequestId":"' .. prefix .. counter .. '"}'
  return wrk.format("POST", "/MainService.svc/json/SendZaloMessage_V5_post/", {["Content-Type"] = "application/json"}, body)
end
