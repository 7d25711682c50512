#!/usr/bin/env node
// A non-interactive "browser" for the conformance suite's mock authorization servers, given to
// mcpgw as auth.open_browser: it fetches the authorization URL (the last argument) and follows
// the redirects, so the mock's 302 lands on mcpgw's loopback callback. Nothing is printed.
const url = process.argv[process.argv.length - 1];
try {
  await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(20000) });
} catch {
  /* the gateway reports what went wrong */
}
