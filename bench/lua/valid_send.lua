-- A valid SendZaloMessage_V5_post, each request with its own RequestId (eSMS refuses a repeat with 124).
local counter = 0
local thread_tag = ""

function setup(thread)
  thread:set("thread_tag", tostring(math.random(1, 1e9)))
end

function init(args)
  thread_tag = thread_tag or tostring(math.random(1, 1e9))
end

request = function()
  counter = counter + 1
  local body = '{"ApiKey":"DEMO_API_KEY","SecretKey":"DEMO_SECRET_KEY","OAID":"4097311281936189049",' ..
    '"Phone":"0901888484","TempID":"205644","TempData":[{"key":"otp","value":"123456"}],' ..
    '"RequestId":"bench-' .. thread_tag .. '-' .. counter .. '"}'
  return wrk.format("POST", "/MainService.svc/json/SendZaloMessage_V5_post/", {["Content-Type"] = "application/json"}, body)
end
