"""Gradio with mcp_server=True serving the echo function: default queued mode, or `--no-queue` (queue=False).

Run with bench/.venv-gradio/bin/python: python bench/servers/gradio_echo.py PORT [--no-queue].
MCP URL: /gradio_api/mcp/. Without the queue an MCP call runs the function straight from the request handler
(Gradio's fastest mode, no progress updates), the fairest comparison for a plain echo.
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


QUEUED = "--no-queue" not in sys.argv

if QUEUED:
    demo = gr.Interface(fn=echo, inputs="text", outputs="text", api_name="echo")
else:
    with gr.Blocks() as demo:
        text_in, text_out = gr.Textbox(label="text"), gr.Textbox(label="output")
        gr.Button("Echo").click(echo, text_in, text_out, api_name="echo", queue=False)

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), mcp_server=True, quiet=True, show_error=False)
