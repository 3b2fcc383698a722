"""The step-type reference (from the engine's node registry) and the "design a Toolpress app" prompt."""

from __future__ import annotations

import json
from functools import cache

import workflows
from backend.platform_mcp.schemas import StepTypeInfo

PROMPT_NAME = "design_toolpress_app"

_EXAMPLE = """\
name: Word Report
tool_name: word_report
title: Word report
description: Cleans up a piece of text, counts its words and writes a one-line report.
annotations:
  read_only: true
inputs:
  - name: text
    type: string
    description: The text to analyse.
    required: true
    max_length: 2000
  - name: label
    type: string
    description: A label to put in front of the report.
    default: report
steps:
  - id: clean
    type: template
    title: clean text
    template: "{{ inputs.text | trim | lower }}"
  - id: count
    type: template
    title: count words
    template: "{{ steps.clean.text | wordcount }}"
outputs:
  - name: words
    type: integer
    description: Number of words.
    value: "{{ steps.count.text }}"
  - name: report
    type: string
    description: The one-line report.
    value: "{{ inputs.label }}: {{ steps.count.text }} words"
"""


@cache
def step_types() -> tuple[StepTypeInfo, ...]:
    """Every registered step type with the JSON Schema of its fields."""
    return tuple(
        StepTypeInfo(
            type=key,
            description=node.description,
            config_schema=node.Config.model_json_schema(),
            results=list(node.result_fields) if node.result_fields is not None else None,
        )
        for key, node in sorted(workflows.REGISTRY.items())
    )


@cache
def step_reference() -> str:
    """The step types as Markdown, for the resource and the prompt."""
    parts = [
        "# Toolpress step types",
        "",
        "A step is `id`, `type`, optional `title` and `time_limit`, and the type's own fields next to them.",
        "Templates are Jinja2 over `inputs.<name>`, `steps.<id>.<result field>`, `secrets.<NAME>` and `context`.",
        "",
    ]
    for info in step_types():
        results = ", ".join(info.results) if info.results is not None else "(any)"
        parts += [
            f"## `{info.type}`",
            info.description,
            "",
            f"Results: {results}",
            "",
            "Fields (JSON Schema):",
            "```json",
            json.dumps(info.config_schema, indent=1, ensure_ascii=False),
            "```",
            "",
        ]
    return "\n".join([*parts, CONTENT_OUTPUTS, ASKING_THE_CALLER, PROMPTS_AND_RESOURCES])


CONTENT_OUTPUTS = """# Content outputs

Outputs typed `image`, `audio`, `file` or `resource` carry bytes; a call returns them as MCP `image`,
`audio` and embedded `resource` blocks (a `resource_link` past 256 KiB), and `structuredContent` describes
them (`name`, `mime_type`, `size`, `resource_uri`). The value is a file value (a `file` input, an
`http_request` step with `as_file: true` → `steps.<id>.file`, or a mapping `{mime_type, base64}` /
`{mime_type, text}`), a `data:` URI, or plain text typed by the output's `mime_type`.

```yaml
outputs:
  - {name: chart, type: image, value: "{{ steps.download.file }}"}
  - {name: badge, type: image, mime_type: image/svg+xml, value: "{{ steps.draw.text }}"}
  - {name: report, type: file, mime_type: text/csv, value: "{{ steps.table.text }}"}
  - {name: notes, type: resource, uri: "notes://today", mime_type: text/markdown, value: "{{ steps.notes.text }}"}
```

`image`/`audio` need an image/* or audio/* MIME type, and known types must match their bytes (a PNG is a
PNG); 5 MiB per output, 10 MiB per run.

"""


ASKING_THE_CALLER = """# Asking the caller

An `ask` step puts a small form to the human behind the calling agent (MCP elicitation), and an `llm` step
with `provider: client` sends its prompt to the agent's own model (MCP sampling; no API key). The run parks
(status `waiting_for_input`, holding no worker) until the answer comes, then goes on from that step; steps
that already ran are not run again. Both may appear only at the top level of an app.

```yaml
steps:
  - id: confirm
    type: ask
    message: "Book {{ inputs.room }}?"
    fields:
      ok: {type: boolean, default: true}
      size: {type: string, oneOf: [{const: s, title: Small}, {const: l, title: Large}], default: s}
    required: [ok]
    on_decline: {do: fail, message: The booking was declined.}   # or continue (default), or
    on_cancel: {do: end, outputs: {booked: false}}               # end with these outputs
    timeout: 300                                                 # seconds; then the run fails
  - id: summary
    type: llm
    provider: client
    user: "Summarise the booking of {{ inputs.room }} ({{ steps.confirm.content.size }})."
    max_tokens: 60
```

`steps.<ask id>` has `action` (accept, decline, cancel), `accepted` and `content` (the answer, fields left
out taking their defaults). A client that declared no elicitation (or sampling) capability gets an error
saying the app needs it.
"""


PROMPTS_AND_RESOURCES = """# Prompts and resources

An app may also publish prompts (slash commands in MCP clients) and resources (context a user attaches)
next to its tool. Prompt names and resource URIs are unique within what one URL serves (a toolkit refuses
apps whose prompts or resources clash).

```yaml
prompts:
  - name: review            # ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$
    title: Review a change
    description: Ask for a review in the team's style.
    arguments:
      - {name: language, description: The code's language, required: true, values: [python, go]}
      - {name: focus, suggestions: [security, speed]}   # offered by completion/complete
      - {name: ticket, suggestions_from: open_tickets}  # or: the workflow suggests (an array output; the
                                                        # input `ticket` is set to what was typed)
    messages:               # role user|assistant; exactly one of text, image, resource each
      - role: user
        text: "Review this {{ inputs.language }} change, focusing on {{ inputs.focus or 'correctness' }}."
      - role: user
        resource: {uri: "docs://style-guide"}          # embeds one of the app's resources
      - role: user
        image: {uri: "docs://diagram"}                 # or {data: <base64>, mime_type: image/png}
  - name: digest
    dynamic: true           # runs the app's workflow with the arguments (inputs of the app);
    arguments: [{name: topic, required: true}]         # its array output `messages` is the message list
resources:
  - {uri: "docs://style-guide", name: style-guide, mime_type: text/markdown, text: "# Style ..."}
  - {uri: "docs://diagram", name: diagram, mime_type: image/png, blob: <base64>}
resource_templates:
  - uri_template: "notes://{topic}"     # RFC 6570; every variable is an input of the app
    name: notes
    mime_type: text/markdown
    output: text                         # the output that is the content (default: the first)
    completions: {topic: [release, onboarding]}
```

Message templates see the prompt's arguments as `inputs.<name>` and render on a worker, under the same
sandbox and limits as steps. A templated or dynamic prompt and a templated resource read are runs of the
app (listed on its runs page with their purpose). Static prompts and resources are answered as written.
"""


def design_prompt(goal: str | None) -> str:
    """The text of the design prompt: the spec format, a worked example, the step reference and the workflow."""
    what = goal.strip() if goal and goal.strip() else "(ask the user what the tool should do)"
    return f"""You are designing a Toolpress app: a workflow that Toolpress publishes as one MCP tool.

Goal: {what}

Write the app spec as YAML, in this order:

1. Header: `name` (unique among your apps), `tool_name` (^[a-zA-Z0-9_-]{{1,64}}$), `title`, and a
   `description` that tells a model when to call the tool and what it returns. Optional `annotations`
   (read_only, destructive, idempotent, open_world) describe its effects.
2. `inputs`: each with `name`, `type` (string, text, number, integer, boolean, enum, array, object, file),
   a `description` the calling model will read, `required` or a `default`, and constraints
   (min_length/max_length/pattern, minimum/maximum, values for enum, items for array).
3. `steps`: in order, each with a unique `id`, a `type` from the reference below, a short `title`
   (shown in progress messages) and that type's fields. Later steps read earlier results as
   `steps.<id>.<field>`; API keys come from `secrets.<NAME>`, never literals, and only in the fields that
   send them out (http_request url/query/headers/json/form/body, llm base_url/api_key), with the URL's host
   written out; a secret anywhere else is refused.
4. `outputs`: each with `name`, `type` (string, number, integer, boolean, array, object, or image,
   audio, file, resource for bytes; see "Content outputs" below), a `description` and a `value` template,
   usually `{{{{ steps.<id>.<field> }}}}`.

Optionally add `prompts`, `resources` and `resource_templates` (see "Prompts and resources" below).

Then: call `validate_app_spec` and fix every error it lists (each names its path and step);
`create_app` (or `update_app`); `test_run_app` with realistic arguments; `publish_app`;
`enable_mcp` to get the URL and a ready `.cursor/mcp.json` entry.

Example:

```yaml
{_EXAMPLE}```

{step_reference()}"""
