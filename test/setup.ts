/**
 * Loaded by mocha before every test file (.mocharc.json `require`). The servers the tests start,
 * in process or as child processes, skip the warm-up before serving (src/admission/warmup.ts):
 * it spends seconds of CPU on purpose, and the suite starts dozens of servers. The tests of the
 * warm-up itself turn it on for their server (test/cli/warmup.test.ts).
 */
process.env.LBGUARD_WARM_UP ??= "off";
