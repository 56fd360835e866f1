-- A SendZaloMessage_V5_post with a badly formed phone number: validated and refused with 108.
expected = '"CodeResult":"108"'
dofile(string.gsub(debug.getinfo(1, "S").source, "^@(.*/)[^/]*$", "%1") .. "answers.lua")

wrk.method = "POST"
wrk.path = "/MainService.svc/json/SendZaloMessage_V5_post/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"ApiKey":"DEMO_API_KEY","SecretKey":"DEMO_SECRET_KEY","OAID":"4097311281936189049",' ..
  '"Phone":"09018","TempID":"205644","TempData":[{"key":"otp","value":"123456"}]}'
