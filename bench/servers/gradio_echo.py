"""Gradio with mcp_server=True serving the echo function (default queued mode).

Run with bench/.venv-gradio/bin/python: python bench/servers/gradio_echo.py PORT. MCP URL: /gradio_api/mcp/.
"""

from __future__ import annotations

import sys

import gradio as gr


def echo(text: str) -> str:
    """Returns the text it is given.

    Args:
        text: the text to echo
    """
    return text


demo = gr.Interface(fn=echo, inputs="text", outputs="text", api_name="echo")

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), mcp_server=True, quiet=True, show_error=False)
