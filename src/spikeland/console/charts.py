"""Charts for the console's pages: a plotly figure built here, drawn in the browser by plotly.js
(served from the Python package, never a CDN) from the JSON the page carries."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

LAYOUT = {"margin": {"l": 48, "r": 16, "t": 40, "b": 40}, "height": 300, "legend": {"orientation": "h"}}


def figure(title: str, traces: list[Any]) -> str:
    drawn = go.Figure(traces, layout={**LAYOUT, "title": {"text": title}})
    # Inside <script type="application/json">: no "<" may close the element early.
    return json.dumps(drawn.to_plotly_json(), cls=_Encoder).replace("<", "\\u003c")


class _Encoder(json.JSONEncoder):
    def default(self, value: Any) -> Any:
        if hasattr(value, "tolist"):  # numpy arrays plotly keeps
            return value.tolist()
        return str(value)
