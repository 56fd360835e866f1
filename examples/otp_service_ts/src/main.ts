/** Run the OTP service: `node build/src/main.js` with the ESMS_* variables (see ../README.md) and PORT. */

import { OtpService, createOtpServer, settingsFromEnv } from "./otp-service.js";

const port = Number(process.env["PORT"] ?? 3000);
createOtpServer(new OtpService(settingsFromEnv())).listen(port, "127.0.0.1", () => {
  console.log(`otp service on http://127.0.0.1:${port}`);
});
