// Devhelion data API from JavaScript (Node.js 18+, no dependencies): the last week's events, then the unread
// insights (marked read once shown).
//
//   DEVHELION_API_KEY=sk_live_... node data_api.mjs     # an sk_test_ key reads the demo archive instead
//
// Only BASE_URL differs from a script written for the hosted Devhelion API.

const BASE_URL = process.env.DEVHELION_URL ?? "http://127.0.0.1:8787";
const API_KEY = process.env.DEVHELION_API_KEY;

async function call(method, path, params = {}) {
  const url = new URL(path, BASE_URL);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  for (;;) {
    const response = await fetch(url, { method, headers: { Authorization: `Bearer ${API_KEY}` } });
    if (response.status === 429) {
      // rate limited: wait as long as the server says, then try again
      const seconds = Number(response.headers.get("Retry-After"));
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      continue;
    }
    const body = await response.json();
    if (!response.ok) throw new Error(`${response.status}: ${body.error}`);
    return body;
  }
}

// Every assistant response of the last 7 days, page by page.
const events = [];
let data;
for (let page = 0; ; page++) {
  data = await call("GET", "/api/data/events", { eventType: "assistant", timeRange: "7d", limit: 100, page });
  events.push(...data.events);
  if (events.length >= data.totalCount || data.events.length === 0) break;
}
const { stats } = data;
console.log(`${stats.totalEvents} responses in the last 7 days, ${stats.totalTokens} tokens, ${stats.projects} projects`);

const byModel = new Map();
for (const event of events) byModel.set(event.model, (byModel.get(event.model) ?? 0) + event.tokens_used);
for (const [model, tokens] of [...byModel].sort((a, b) => b[1] - a[1])) console.log(`  ${model}: ${tokens} tokens`);

// Unread insights, each marked read once shown.
const insights = await call("GET", "/api/data/insights", { filter: "unread" });
console.log(`${insights.unreadCount} unread insights`);
for (const insight of insights.insights) {
  console.log(`  [${insight.type}/${insight.category}] ${insight.title}: ${insight.value}`);
  await call("POST", `/api/data/insights/${insight.id}/read`);
}

const remaining = await call("GET", "/api/data/insights", { filter: "unread" });
console.log(`${remaining.unreadCount} unread insights left`);
