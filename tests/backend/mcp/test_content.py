"""Images, audio, files and resources out of a tools/call, through the official SDK client, over two API processes.

Two API processes behind a round-robin balancer and one worker (PostgreSQL + Redis): the worker stores a run's
files, either process builds the result's content blocks, and a `resource_link` to a large file is read with
`resources/read` through whichever process the next request reaches, and only by the way in that made the run.
"""

from __future__ import annotations

import base64
import uuid

import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError
from support.access import bearer_client, new_token
from support.apps import ApiUser
from support.proxy import through

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]  # auto: the client discovers the server and speaks 2026-07-28
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WAV = base64.b64decode("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==")
SVG = "<svg xmlns='http://www.w3.org/2000/svg' width='2' height='2'/>"
LARGE = 300_000  # over the 256 KiB a result embeds


def studio(tasks: str = "never") -> str:
    """YAML of an app whose outputs are an image from a file input, an SVG, audio, a large file and a resource."""
    return yaml.safe_dump({
        "name": f"Studio {uuid.uuid4().hex[:8]}",
        "tool_name": "studio",
        "tasks": tasks,
        "inputs": [{"name": "photo", "type": "file", "required": True, "description": "A picture."}],
        "steps": [{"id": "draw", "type": "template", "template": SVG},
                  {"id": "log", "type": "template", "template": "{{ 'x' * %d }}" % LARGE}],
        "outputs": [
            {"name": "title", "type": "string", "value": "Your studio output"},
            {"name": "photo", "type": "image", "value": "{{ inputs.photo }}"},
            {"name": "chart", "type": "image", "mime_type": "image/svg+xml", "value": "{{ steps.draw.text }}"},
            {"name": "beep", "type": "audio", "value": "data:audio/wav;base64," + base64.b64encode(WAV).decode()},
            {"name": "log", "type": "file", "mime_type": "text/plain", "value": "{{ steps.log.text }}"},
            {"name": "notes", "type": "resource", "uri": "notes://today", "mime_type": "text/markdown",
             "value": "# Notes"},
        ],
    }, sort_keys=False)


def _photo() -> dict[str, str]:
    return {"photo": "data:image/png;name=dot.png;base64," + base64.b64encode(PNG).decode()}


def _publish(via: str, spec: str) -> tuple[ApiUser, int, str]:
    owner = ApiUser(via)
    app_id, url = owner.publish(spec)
    return owner, app_id, through(url, via)


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_returns_images_audio_resources_and_a_link_to_a_large_file(balanced, mode: str) -> None:
    _, via, _ = balanced
    _, _, url = _publish(via, studio())
    async with Client(url, mode=mode) as client:
        assert client.server_capabilities.resources is not None  # run files are read with resources/read
        result = await client.call_tool("studio", _photo())
        assert result.is_error is False, result.content
        text, photo, chart, beep, link, notes = result.content
        assert text.type == "text" and "photo: dot.png (image/png, 70 bytes)" in text.text
        assert (photo.type, photo.mime_type, base64.b64decode(photo.data)) == ("image", "image/png", PNG)
        assert (chart.type, chart.mime_type, base64.b64decode(chart.data).decode()) == ("image", "image/svg+xml", SVG)
        assert (beep.type, beep.mime_type, base64.b64decode(beep.data)) == ("audio", "audio/wav", WAV)
        assert (notes.type, str(notes.resource.uri), notes.resource.text) == ("resource", "notes://today", "# Notes")
        assert notes.resource.mime_type == "text/markdown"
        assert (link.type, link.mime_type, link.size, link.name) == ("resource_link", "text/plain", LARGE, "log")

        structured = result.structured_content
        assert structured["title"] == "Your studio output"
        assert structured["log"] == {"name": "log", "mime_type": "text/plain", "size": LARGE,
                                     "resource_uri": str(link.uri)}
        assert structured["notes"]["uri"] == "notes://today"
        assert all("base64" not in str(value) for value in structured.values())  # bytes are not sent twice

        read = await client.read_resource(str(link.uri))  # may reach the other API process
        assert base64.b64decode(read.contents[0].blob) == b"x" * LARGE  # a file's bytes, as a blob
        assert str(read.contents[0].uri) == str(link.uri) and read.contents[0].mime_type == "text/plain"
        listed = await client.list_resources()
        assert listed.resources == []  # run files are read when linked, not listed


async def test_a_run_file_is_readable_only_by_the_way_in_that_made_the_run(balanced) -> None:
    _, via, _ = balanced
    owner, app_id, url = _publish(via, studio())
    async with Client(url, mode="auto") as client:
        link = (await client.call_tool("studio", _photo())).content[4]
    token = new_token(owner.api, owner.headers, app_id)
    async with bearer_client(through(token["url"], via), token["token"], mode="auto") as client:
        with pytest.raises(MCPError, match="resource not found"):
            await client.read_resource(str(link.uri))
        by_token = (await client.call_tool("studio", _photo())).content[4]
        assert base64.b64decode((await client.read_resource(str(by_token.uri))).contents[0].blob) == b"x" * LARGE
    _, _, other_url = _publish(via, studio())
    async with Client(other_url, mode="legacy") as client:
        for uri in (str(link.uri), str(by_token.uri)):
            with pytest.raises(MCPError, match="resource not found"):
                await client.read_resource(uri)
    async with Client(url, mode="legacy") as client:  # the URL cannot read what the token made
        with pytest.raises(MCPError, match="resource not found"):
            await client.read_resource(str(by_token.uri))


@pytest.mark.parametrize("mode", MODES)
async def test_content_that_is_not_what_its_output_says_fails_the_call_with_a_clear_error(balanced, mode: str) -> None:
    _, via, _ = balanced
    spec = yaml.safe_load(studio())
    spec["outputs"][1]["value"] = "{{ inputs.photo }}"
    _, _, url = _publish(via, yaml.safe_dump(spec))
    fake = {"photo": "data:image/png;base64," + base64.b64encode(b"GIF89a not really").decode()}
    async with Client(url, mode=mode) as client:
        result = await client.call_tool("studio", fake)
        assert result.is_error is True
        assert "output 'photo' (image): the data is not PNG (the MIME type says image/png)" in result.content[0].text
        text = await client.call_tool("studio", {"photo": "data:text/plain;base64," + base64.b64encode(b"hi").decode()})
        assert "an image output needs an image/* MIME type, not text/plain" in text.content[0].text


async def test_a_task_result_carries_the_same_content_blocks(balanced) -> None:
    from support.tasks_client import Tasks

    _, via, _ = balanced
    _, _, url = _publish(via, studio(tasks="always"))
    extension = Tasks()
    async with Client(url, mode="2026-07-28", extensions=[extension]) as client:
        result = await client.call_tool("studio", _photo())
    assert len(extension.handles) == 1
    assert [block.type for block in result.content] == ["text", "image", "image", "audio", "resource_link", "resource"]
    assert result.structured_content["photo"]["size"] == len(PNG)



@pytest.mark.parametrize("mode", MODES)
async def test_a_resource_template_whose_output_is_an_image_reads_as_a_blob(balanced, mode: str) -> None:
    _, via, _ = balanced
    spec = {
        "name": f"Charts {uuid.uuid4().hex[:8]}", "tool_name": "chart",
        "inputs": [{"name": "city", "type": "string", "required": True}],
        "outputs": [{"name": "pixel", "type": "image", "value": "data:image/png;base64," + base64.b64encode(PNG).decode()}],
        "resource_templates": [{"uri_template": "charts://{city}", "name": "chart", "output": "pixel"}],
    }
    _, _, url = _publish(via, yaml.safe_dump(spec))
    async with Client(url, mode=mode) as client:
        contents = (await client.read_resource("charts://oslo")).contents[0]
    assert (str(contents.uri), contents.mime_type, base64.b64decode(contents.blob)) == ("charts://oslo", "image/png", PNG)
