-- A SendZaloMessage_V5_post with a badly formed phone number: validated and refused with 108.
wrk.method = "POST"
wrk.path = "/MainService.svc/json/SendZaloMessage_V5_post/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"ApiKey":"DEMO_API_KEY","SecretKey":"DEMO_SECRET_KEY","OAID":"4097311281936189049",' ..
  '"Phone":"09018","TempID":"205644","TempData":[{"key":"otp","value":"123456"}]}'
