"""Devhelion data API from Python: the last week's events, then the unread insights (marked read once shown).

    pip install requests
    DEVHELION_API_KEY=sk_live_... python data_api.py     # an sk_test_ key reads the demo archive instead

Only BASE_URL differs from a script written for the hosted Devhelion API.
"""

import os
import time

import requests

BASE_URL = os.environ.get("DEVHELION_URL", "http://127.0.0.1:8787")
API_KEY = os.environ["DEVHELION_API_KEY"]

session = requests.Session()
session.headers["Authorization"] = f"Bearer {API_KEY}"


def call(method, path, **params):
    """One request; waits and retries when the rate limit says so (429 + Retry-After)."""
    while True:
        response = session.request(method, f"{BASE_URL}{path}", params=params, timeout=30)
        if response.status_code == 429:
            time.sleep(int(response.headers["Retry-After"]))
            continue
        if response.status_code >= 400:
            raise SystemExit(f"{response.status_code}: {response.json()['error']}")
        return response


# Every assistant response of the last 7 days, page by page.
events, page = [], 0
while True:
    data = call("GET", "/api/data/events", eventType="assistant", timeRange="7d", limit=100, page=page).json()
    events += data["events"]
    if len(events) >= data["totalCount"] or not data["events"]:
        break
    page += 1
stats = data["stats"]
print(f"{stats['totalEvents']} responses in the last 7 days, {stats['totalTokens']} tokens, "
      f"{stats['projects']} projects")

by_model = {}
for event in events:
    by_model[event["model"]] = by_model.get(event["model"], 0) + event["tokens_used"]
for model, tokens in sorted(by_model.items(), key=lambda item: -item[1]):
    print(f"  {model}: {tokens} tokens")

# Unread insights, each marked read once shown.
insights = call("GET", "/api/data/insights", filter="unread").json()
print(f"{insights['unreadCount']} unread insights")
for insight in insights["insights"]:
    print(f"  [{insight['type']}/{insight['category']}] {insight['title']}: {insight['value']}")
    call("POST", f"/api/data/insights/{insight['id']}/read")

remaining = call("GET", "/api/data/insights", filter="unread").json()["unreadCount"]
print(f"{remaining} unread insights left")
