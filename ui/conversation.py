"""A session's conversation as the session page shows it: messages in order, each assistant turn's tool calls
collapsed under it (input and result on demand), thinking hidden unless asked for, subagent lines optional.

Items are rendered in slices ("Show more") so a session with thousands of lines opens at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import orjson
from nicegui import ui

from ui import fmt

SLICE = 50  # items drawn at first and per "Show more": a long session opens at once
TEXT_LIMIT = 6000
# links to web pages open outside the dashboard; relative ones (file paths in the project) are not followed
ANSWER_EXTRAS = ["fenced-code-blocks", "tables", "target-blank-links"]
RESULT_LIMIT = 4000


@dataclass
class ConversationView:
    """Display options (toggled by the page) over one session's detail."""

    detail: dict[str, Any]
    tz: tzinfo
    show_thinking: bool = False
    show_sidechain: bool = False
    shown: int = SLICE
    items: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = conversation_items(self.detail)
        if not self.visible() and any(item.get("is_sidechain") for _, item, _ in self.items):
            self.show_sidechain = True  # a session whose lines all come from subagents

    def visible(self) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
        result = []
        for kind, item, tools in self.items:
            sidechain = item.get("is_sidechain")
            if sidechain and not self.show_sidechain:
                continue
            if kind == "message" and not _has_text(item) and not tools and not (self.show_thinking and
                                                                                  item.get("thinking")):
                continue
            result.append((kind, item, tools))
        return result


def _has_text(message: dict[str, Any]) -> bool:
    return bool((message.get("text") or "").strip()) and not message.get("is_meta")


def conversation_items(detail: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """``("message", message, its tool calls)`` in line order; tool calls whose line is not listed follow the
    nearest earlier message; compactions are placed by time."""
    by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    message_ids = {m["id"] for m in detail["messages"]}
    orphans = []
    for call in detail["tool_calls"]:
        if call.get("message_id") in message_ids:
            by_message[call["message_id"]].append(call)
        else:
            orphans.append(call)
    items: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    compactions = sorted(detail.get("compactions") or [], key=lambda c: c.get("timestamp") or "")
    for message in detail["messages"]:
        stamp = message.get("timestamp") or ""
        while compactions and (compactions[0].get("timestamp") or "") <= stamp:
            items.append(("compaction", compactions.pop(0), []))
        items.append(("message", message, by_message.get(message["id"], [])))
    items.extend(("compaction", c, []) for c in compactions)
    for call in orphans:
        stamp = call.get("timestamp") or ""
        index = next((i for i, (_, item, _) in enumerate(items) if (item.get("timestamp") or "") > stamp), len(items))
        items.insert(index, ("message", {"id": f"tool:{call['id']}", "type": "assistant", "role": "assistant",
                                         "timestamp": call.get("timestamp"), "text": None,
                                         "is_sidechain": call.get("is_sidechain"), "agent_id": call.get("agent_id")},
                             [call]))
    return items


def render_items(view: ConversationView, container: ui.element) -> None:
    """(Re)draw the first ``view.shown`` visible items into ``container``."""
    container.clear()
    visible = view.visible()
    with container:
        if not visible:
            ui.label("No messages with text in this session (tool results and metadata lines are hidden).") \
                .classes("dh-muted")
        for kind, item, tools in visible[: view.shown]:
            if kind == "compaction":
                _compaction(item, view.tz)
            else:
                _message(item, tools, view)
        if len(visible) > view.shown:
            def more() -> None:
                view.shown += SLICE
                render_items(view, container)

            ui.button(f"Show more ({len(visible) - view.shown} left)", on_click=more) \
                .props("outline").classes("self-center").mark("show-more")


def _compaction(item: dict[str, Any], tz: tzinfo) -> None:
    with ui.row().classes("w-full items-center gap-2 py-1 dh-muted text-sm"):
        ui.icon("compress", size="18px")
        pre, post = item.get("pre_tokens"), item.get("post_tokens")
        sizes = f" · {fmt.tokens(pre)} → {fmt.tokens(post)} tokens" if pre is not None else ""
        ui.label(f"Context compacted ({item.get('trigger') or item.get('kind') or 'auto'}) at "
                 f"{fmt.iso_local(item.get('timestamp'), tz)}{sizes}")
        ui.separator().classes("flex-1")


def _message(message: dict[str, Any], tools: list[dict[str, Any]], view: ConversationView) -> None:
    user = message.get("type") == "user"
    text = (message.get("text") or "").strip()
    shows_text = bool(text) and not message.get("is_meta")
    shows_thinking = view.show_thinking and bool(message.get("thinking"))
    with ui.column().classes("w-full gap-1" + (" pl-6 border-l-2" if message.get("is_sidechain") else "")):
        if not shows_text and not shows_thinking:  # a turn that only called tools: the calls say enough
            for call in tools:
                _tool_call(call)
            return
        with ui.row().classes("items-center gap-2 text-xs dh-muted"):
            ui.icon("person" if user else "smart_toy", size="16px")
            ui.label("You" if user else fmt.model_label(message.get("model") or "assistant"))
            ui.label(fmt.iso_local(message.get("timestamp"), view.tz))
            if message.get("is_sidechain"):
                ui.badge(f"subagent {message.get('agent_id') or ''}".strip(), color="grey").props("outline")
            usage = message.get("usage")
            if usage:
                cost = fmt.money(usage["cost_usd"]) if usage.get("priced") else "unpriced"
                ui.label(f"{fmt.tokens(usage['total_tokens'])} tokens · {cost}").tooltip(
                    f"input {fmt.integer(usage['input_tokens'])}, output {fmt.integer(usage['output_tokens'])}, "
                    f"cache write {fmt.integer(usage['cache_write_5m_tokens'] + usage['cache_write_1h_tokens'])}, "
                    f"cache read {fmt.integer(usage['cache_read_tokens'])}")
        if shows_thinking:
            with ui.expansion("Thinking", icon="psychology").classes("w-full dh-soft").props("dense default-opened"):
                ui.label(_clip(message["thinking"], TEXT_LIMIT)).classes("dh-mono dh-muted")
        if shows_text and user:  # prompts as typed
            ui.label(_clip(text, TEXT_LIMIT)).classes("dh-bubble dh-bubble-user whitespace-pre-wrap break-words "
                                                      "text-sm")
        elif shows_text:  # Claude answers in Markdown (HTML in it is sanitised in the browser by DOMPurify)
            ui.markdown(_clip_markdown(text, TEXT_LIMIT), extras=ANSWER_EXTRAS) \
                .classes("dh-bubble dh-answer break-words text-sm").mark("assistant-text")
        for call in tools:
            _tool_call(call)


def _tool_call(call: dict[str, Any]) -> None:
    status = call.get("status") or "pending"
    icon, colour = {"ok": ("check_circle", "positive"), "error": ("error", "negative"),
                    "rejected": ("block", "warning"), "interrupted": ("pause_circle", "warning")}.get(
        status, ("hourglass_empty", "grey"))
    target = call.get("file_path") or _summary(call.get("input"))
    title = f"{call.get('tool_name') or 'tool'}" + (f" · {target}" if target else "")
    caption = " · ".join(x for x in (status, fmt.duration(call.get("duration_ms"))
                                      if call.get("duration_ms") is not None else "") if x)
    header = f'header-class="text-{colour}"' if status != "ok" else ""
    with ui.expansion(title, icon=icon, caption=caption).classes("w-full dh-soft text-sm") \
            .props(f"dense {header}").mark("tool-call"):
        ui.label("Input").classes("text-xs font-medium dh-muted")
        ui.label(_clip(_pretty(call.get("input")), RESULT_LIMIT)).classes("dh-mono")
        if call.get("error"):
            ui.label("Error").classes("text-xs font-medium text-negative")
            ui.label(_clip(call["error"], RESULT_LIMIT)).classes("dh-mono")
        elif call.get("result"):
            ui.label("Result").classes("text-xs font-medium dh-muted")
            ui.label(_clip(call["result"], RESULT_LIMIT)).classes("dh-mono")


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("command", "pattern", "url", "query", "description", "prompt", "skill"):
            if isinstance(value.get(key), str):
                return _clip(value[key].splitlines()[0] if value[key] else "", 90)
    return ""


def _pretty(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _clip_markdown(text: str, limit: int) -> str:
    """:func:`_clip` that closes a code block it cut in two, so the note after it is not shown as code."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if head.count("```") % 2:
        head += "\n```"
    return head + f"\n\n… ({len(text) - limit:,} more characters)"


def agent_tree(detail: dict[str, Any], breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    """Nodes for ``ui.tree``: the main thread, then each subagent under the agent whose tool call started it,
    with its cost and tokens."""
    costs = {a["agent_id"]: a for a in breakdown.get("agents", [])}
    launcher = {c["id"]: c.get("agent_id") for c in detail["tool_calls"]}
    main = costs.get(None, {})
    nodes: dict[str | None, dict[str, Any]] = {None: {
        "id": "main", "label": f"Main conversation · {fmt.money(main.get('cost_usd', 0))} · "
                               f"{fmt.tokens(main.get('total_tokens', 0))} tokens", "children": []}}
    for agent in detail["subagents"]:
        usage = agent.get("usage") or {}
        what = agent.get("description") or agent.get("agent_type") or agent["kind"]
        nodes[agent["id"]] = {"id": agent["id"], "children": [],
                              "label": f"{what} · {agent['kind']} · {fmt.money(usage.get('cost_usd', 0))} · "
                                       f"{fmt.tokens(usage.get('total_tokens', 0))} tokens · "
                                       f"{agent.get('tool_call_count', 0)} tool calls"}
    for agent in detail["subagents"]:
        parent = launcher.get(agent.get("parent_tool_use_id"))
        parent_node = nodes.get(parent if parent in nodes else None)
        if parent_node is nodes[agent["id"]]:
            parent_node = nodes[None]
        parent_node["children"].append(nodes[agent["id"]])
    return [nodes[None]]
