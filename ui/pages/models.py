"""Models (``/models``): which models the money went to, their cost over time, how well each used the prompt
cache, and what the same range would have cost on any other model (the stored tokens repriced)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from store.dashboard.repricing import Repricing, reprice_rows, repricing_targets
from store.monitor.dimensions import model_stats
from store.monitor.efficiency import token_efficiency
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import GRAIN_NOUN, Series, no_data_hint, range_day_rows, usage_series


def load_models(ctx: Ctx) -> dict[str, Any]:
    return model_stats(ctx.db, ctx.prices, ctx.scope())


def load_trend(ctx: Ctx) -> Series:
    return usage_series(ctx)


def load_cache(ctx: Ctx) -> dict[str, Any]:
    return token_efficiency(ctx.db, ctx.prices, ctx.scope())


def load_whatif(ctx: Ctx) -> list[Repricing]:
    return reprice_rows(range_day_rows(ctx), ctx.prices, repricing_targets(ctx.prices))


def render_share(data: dict[str, Any], ctx: Ctx) -> None:
    models = data["models"]
    if not models:
        return  # the table's section says so
    with widgets.card("h-full"):
        widgets.heading("Share of cost", "Each model's part of the range's cost (fast mode as <model>-fast).")
        colours = {m["model"]: charts.model_color(m["model"]) for m in models}
        charts.chart(charts.donut([(m["model"], m["cost_usd"]) for m in models], "money", colours,
                                  {m["model"]: fmt.model_label(m["model"]) for m in models}), "h-72",
                     marker="chart-model-share")


def render_models(data: dict[str, Any], ctx: Ctx) -> None:
    models = data["models"]
    if not models:
        widgets.empty("No model usage", no_data_hint(ctx.filt, ctx.today), "memory")
        return
    with widgets.card("h-full"):
        widgets.heading("Models", "Requests, tokens and cost per model in the range; sessions = sessions that "
                        "used the model.")
        widgets.table([
            {"name": "model", "label": "Model", "field": "model"},
            {"name": "sessions", "label": "Sessions", "field": "sessions", "align": "right"},
            {"name": "requests", "label": "Requests", "field": "requests", "align": "right"},
            {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "right", "sortable": False},
            {"name": "cost", "label": "Cost", "field": "cost", "align": "right", "sortable": False},
            {"name": "share", "label": "Share of cost", "field": "share", "align": "right", "sortable": False},
        ], [{"id": m["model"], "model": m["model"], "sessions": m["sessions"], "requests": m["requests"],
             "tokens": fmt.tokens(m["total_tokens"]),
             "cost": fmt.money(m["cost_usd"]) if m["priced"] else "unpriced",
             "share": fmt.percent(m["share_of_cost"])} for m in models], marker="models-table")
        if data["unpriced_models"]:
            ui.label("Unpriced (not in the cost): " + ", ".join(data["unpriced_models"]) +
                     ". Add a price in Settings.").classes("text-sm text-warning")


def render_trend(series: Series, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading(f"Cost per model per {GRAIN_NOUN[series.grain]}", "How each model's cost moved over the range.")
        if series.empty:
            widgets.empty("No usage in this range", no_data_hint(ctx.filt, ctx.today), "show_chart")
            return
        charts.chart(series.cost_chart("lines"), "h-72", marker="chart-model-trend")


def render_cache(data: dict[str, Any], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Cache efficiency per model", "Cache hit rate = cache reads ÷ all prompt tokens (input, cache "
                        "writes, cache reads). Net savings = what the cache reads would have cost as input, minus the "
                        "extra paid for cache writes.")
        models = data["by_model"]
        if not models:
            widgets.empty("No cache figures", no_data_hint(ctx.filt, ctx.today), "cached")
            return
        charts.chart(charts.hbars([fmt.model_label(m["model"]) for m in models],
                                  [m["cache_hit_rate"] for m in models], "percent"), "h-56",
                     marker="chart-cache-rate")
        widgets.table([
            {"name": "model", "label": "Model", "field": "model"},
            {"name": "rate", "label": "Hit rate", "field": "rate", "align": "right", "sortable": False},
            {"name": "read", "label": "Read savings", "field": "read", "align": "right", "sortable": False},
            {"name": "premium", "label": "Write premium", "field": "premium", "align": "right", "sortable": False},
            {"name": "net", "label": "Net savings", "field": "net", "align": "right", "sortable": False},
        ], [{"id": m["model"], "model": m["model"], "rate": fmt.percent(m["cache_hit_rate"]),
             "read": fmt.money(m["read_savings_usd"]), "premium": fmt.money(m["write_premium_usd"]),
             "net": fmt.money(m["net_savings_usd"])} for m in models])


def render_whatif(results: list[Repricing], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("What would this range have cost on another model?",
                        "The range's stored tokens (input, output, cache writes and reads, web searches) priced at "
                        "each model's rates, keeping long-context and regional pricing; fast mode is not applied.")
        if not results or results[0].actual.requests == 0:
            widgets.empty("Nothing to reprice", no_data_hint(ctx.filt, ctx.today), "price_change")
            return
        actual = results[0].actual
        ui.label(f"Actual cost: {fmt.money(actual.cost, bool(actual.unpriced))} for "
                 f"{fmt.tokens(actual.total_tokens)} tokens").classes("text-sm").mark("whatif-actual")
        priced = sorted((r for r in results if r.priced), key=lambda r: r.cost)
        rows = []
        for r in priced:
            change = fmt.delta(float(r.cost), float(actual.cost))[0] if actual.cost else "–"
            rows.append({"id": r.model, "model": r.model, "cost": fmt.money(r.cost), "diff": fmt.money(r.difference),
                         "change": change})
        widgets.table([{"name": "model", "label": "Model", "field": "model"},
                       {"name": "cost", "label": "Would have cost", "field": "cost", "align": "right",
                        "sortable": False},
                       {"name": "diff", "label": "Difference", "field": "diff", "align": "right", "sortable": False},
                       {"name": "change", "label": "Change", "field": "change", "align": "right", "sortable": False}],
                      rows, rows_per_page=10, marker="whatif-table")


def register() -> None:
    @ui.page("/models", title="Models · Devhelion")
    async def page() -> None:
        frame = Frame("/models", "Models", explain="Cost and tokens per model, cache efficiency, and repricing of "
                      "the range on other models.")
        with frame.content:
            with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-3"):
                frame.section("share", load_models, render_share, height="h-72", shared="models")
                frame.section("models", load_models, render_models, skeleton="table", shared="models",
                              classes="dh-primary lg:col-span-2")
            frame.section("trend", load_trend, render_trend, height="h-72")
            with ui.grid().classes("w-full gap-4 grid-cols-1 xl:grid-cols-2"):
                frame.section("cache", load_cache, render_cache, height="h-72")
                frame.section("whatif", load_whatif, render_whatif, height="h-72")
        await frame.start()
