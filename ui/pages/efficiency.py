"""Efficiency (``/efficiency``): how much the prompt cache saved, what expired caches wasted, how many tokens a
message or a tool call costs, and how often contexts had to be compacted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nicegui import ui

from store.cache_expiry import DayWaste, ExpiryWaste, expiry_waste_days
from store.dashboard.catalog import last_request_ms
from store.dashboard.efficiency import compactions
from store.monitor.efficiency import token_efficiency
from store.timezones import DAY_MS, local_date, local_day_start_utc_ms
from ui import charts, fmt, widgets
from ui.cache import results
from ui.context import Ctx
from ui.layout import Frame
from ui.live import version
from ui.pages.common import no_data_hint


def load_efficiency(ctx: Ctx) -> dict[str, Any]:
    return token_efficiency(ctx.db, ctx.prices, ctx.scope())


WASTE_MAX_DAYS = 90  # the waste scan reads every request of the window: long ranges use their last 90 days


def load_waste(ctx: Ctx) -> ExpiryWaste:
    """The range's waste (its last ``WASTE_MAX_DAYS`` days), summed from per-day answers computed a local week
    (Monday to Sunday) at a time and cached: another range over the same weeks reads no request again."""
    start, end = ctx.range_ms()
    end = end if end is not None else ctx.now_ms + 1
    newest = results.get_or_compute(("catalog.last-request", version.value), lambda: last_request_ms(ctx.db))
    if newest is None:
        return ExpiryWaste.of_days({})
    # the window ends with the range or with the last day that has data, whichever is earlier
    end = min(end, local_day_start_utc_ms(local_date(newest, ctx.tz) + timedelta(days=1), ctx.tz))
    start = max(start or 0, end - WASTE_MAX_DAYS * DAY_MS)
    if start >= end:
        return ExpiryWaste.of_days({})
    first, last = local_date(start, ctx.tz), local_date(end - 1, ctx.tz)
    days: dict[str, DayWaste] = {}
    week = first - timedelta(days=first.weekday())
    while week <= last:
        following = week + timedelta(days=7)
        lo, hi = local_day_start_utc_ms(week, ctx.tz), local_day_start_utc_ms(following, ctx.tz)
        key = ("efficiency.waste-week", week, ctx.filt.project, ctx.prices.version, str(ctx.tz), version.value)
        days.update(results.get_or_compute(key, lambda lo=lo, hi=hi: expiry_waste_days(
            ctx.db.connection(), ctx.prices, ctx.tz, lo, hi, ctx.filt.project)))
        week = following
    return ExpiryWaste.of_days({d: w for d, w in days.items() if first.isoformat() <= d <= last.isoformat()})


def load_compactions(ctx: Ctx) -> dict[str, Any]:
    start, end = ctx.range_ms()
    return compactions(ctx.db, ctx.tz, start, end, ctx.filt.project)


def render_efficiency(data: dict[str, Any], ctx: Ctx) -> None:
    if not data["requests"]:
        widgets.empty("No requests in this range", no_data_hint(ctx.filt, ctx.today), "bolt")
        return
    with ui.grid().classes("w-full gap-4 grid-cols-2 lg:grid-cols-4"):
        widgets.kpi("Cache hit rate", fmt.percent(data["cache_hit_rate"]), marker="kpi-cache-rate",
                    explain="Cache reads ÷ all prompt tokens (input + cache writes + cache reads): how much of what "
                            "Claude re-read came from the cache.")
        widgets.kpi("Net cache savings", fmt.money(data["net_savings_usd"]), marker="kpi-net-savings",
                    sub=f"{fmt.money(data['read_savings_usd'])} saved on reads − "
                        f"{fmt.money(data['write_premium_usd'])} extra for writes",
                    explain="What the cache reads would have cost as plain input, minus the premium paid for writing "
                            "the cache, priced per model.")
        widgets.kpi("Tokens per request", fmt.tokens(data["avg_tokens_per_message"]),
                    sub=f"{fmt.tokens(data['avg_output_tokens_per_message'])} of them output",
                    explain="Mean tokens (all classes) of one API request.")
        widgets.kpi("Tokens per tool call", fmt.tokens(data.get("avg_tokens_per_tool_call")),
                    sub=f"{fmt.integer(data.get('tool_calls'))} tool calls",
                    explain="All tokens of the range divided by its tool calls: what driving one tool costs.")


def render_waste(waste: ExpiryWaste, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Cache-expiry waste", "When a conversation resumes after its prompt cache expired (5 minutes "
                        "idle, or an hour for 1-hour caches) the cache is written again at the write rate; a warm "
                        "cache would have served those tokens at the read rate. The waste is the difference (over "
                        f"at most the {WASTE_MAX_DAYS} days up to the range's last day with data; resumptions "
                        "within a day of the conversation's previous request).")
        if waste.times == 0:
            widgets.empty("No expired caches", "No conversation in this range re-wrote its cache after an idle gap.",
                          "timer_off")
            return
        ui.label(fmt.money(waste.waste_usd)).classes("dh-kpi-value").mark("waste-total")
        ui.label(f"{waste.times:,} resumptions re-wrote {fmt.tokens(waste.rewritten_tokens)} tokens").classes(
            "text-sm dh-muted")
        days = sorted(waste.by_day)
        charts.chart(charts.stacked_bars(days, {"waste": [float(waste.by_day[d]) for d in days]}, "money") |
                     {"legend": {"show": False}}, "h-48", marker="chart-waste")


def render_compactions(data: dict[str, Any], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Compactions", "Times a session's context was summarised to fit (automatically, or with "
                        "/compact): each one re-sends the conversation. Frequent compactions suggest starting fresh "
                        "sessions per task.")
        if not data["total"]:
            widgets.empty("No compactions", "No session was compacted in this range.", "compress")
            return
        removed = f" · {fmt.tokens(data['tokens_removed'])} tokens summarised away" if data["tokens_removed"] else ""
        ui.label(f"{fmt.integer(data['total'])} compactions{removed}").classes("text-sm").mark("compaction-total")
        days = list(data["per_day"])
        kinds = sorted({k for v in data["per_day"].values() for k in v})
        options = charts.stacked_bars(days, {k: [data["per_day"][d].get(k, 0) for d in days] for k in kinds}, "count")
        options["yAxis"]["minInterval"] = 1
        charts.chart(options, "h-48", marker="chart-compactions")
        for c in data["latest"][:8]:
            with ui.row().classes("w-full justify-between text-sm no-wrap gap-2"):
                widgets.session_link(c["session_id"], c["session_id"][:8], ctx.filt.query_string())
                ui.label(f"{c['trigger'] or c['kind']} · {fmt.tokens(c['pre_tokens'])} → "
                         f"{fmt.tokens(c['post_tokens'])} · {fmt.local_time(c['ts_ms'], ctx.tz)}").classes("dh-muted")


def register() -> None:
    @ui.page("/efficiency", title="Efficiency · Devhelion")
    async def page() -> None:
        frame = Frame("/efficiency", "Efficiency", explain="Prompt caching, its savings and waste, tokens per request "
                      "and per tool call, and context compactions in the range.")
        with frame.content:
            frame.section("efficiency", load_efficiency, render_efficiency, skeleton="kpis", classes="dh-primary")
            with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
                frame.section("waste", load_waste, render_waste, height="h-64")
                frame.section("compactions", load_compactions, render_compactions, height="h-64")
        await frame.start()
