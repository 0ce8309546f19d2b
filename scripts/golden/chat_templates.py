#!/usr/bin/env python3
"""Golden chat-template renders for Tailor's Jinja interpreter (SPEC.md §7).

Reads the templates in Tests/TailorKitTests/Fixtures/chat_templates/*.jinja and writes
Tests/TailorKitTests/Fixtures/chat_templates.json: for every template x conversation x
add_generation_prompt, either the rendered text or the error the template raises.

Renderer: transformers' own `render_jinja_template` (transformers.utils.chat_template_utils), the
function `PreTrainedTokenizerBase.apply_chat_template` calls. It compiles the template in transformers'
ImmutableSandboxedEnvironment (trim_blocks=True, lstrip_blocks=True, loopcontrols, the json.dumps-based
`tojson`, `raise_exception`, `strftime_now`, `namespace`) and renders with `messages`, `tools` (None
when a conversation has none, as apply_chat_template passes it), `documents=None`,
`add_generation_prompt`, `bos_token`, `eos_token` and the conversation's extra variables. Messages are
plain dicts without None values (apply_chat_template drops None-valued keys before rendering).

`strftime_now` is made deterministic: the module's `datetime` is replaced by one whose now() is FIXED_NOW
(naive local time, as datetime.now() returns). Llama 3.2 reads it when no `date_string` is passed.

Where the templates come from (no network here; the strings are those the model repositories ship):
  chatml    teknium/OpenHermes-2.5-Mistral-7B (the generic ChatML template; quoted in llama.cpp
            tests/test-chat-template.cpp and many trainers as "default chatml")
  smollm2   models/SmolLM2-135M-Instruct.Q4_1.gguf, tokenizer.chat_template (checked below with gguf-py)
  llama3.1  meta-llama/Llama-3.1-8B-Instruct (llama.cpp models/templates/meta-llama-Llama-3.3-70B-Instruct.jinja;
            3.3 ships the 3.1 template unchanged)
  llama3.2  meta-llama/Llama-3.2-3B-Instruct (llama.cpp models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja)
  qwen2.5   Qwen/Qwen2.5-7B-Instruct tokenizer_config.json
  mistral   mistralai/Mistral-7B-Instruct-v0.3 tokenizer_config.json
  gemma2    google/gemma-2-2b-it (llama.cpp models/templates/google-gemma-2-2b-it.jinja)
  phi3      microsoft/Phi-3-mini-4k-instruct tokenizer_config.json

Run (reference venv, see README.md):
  .venv-ref/bin/python scripts/golden/chat_templates.py
"""
import json
import os
import sys
from datetime import datetime
from importlib.metadata import version

import transformers.utils.chat_template_utils as ctu

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures")
TEMPLATE_DIR = os.path.join(FIXTURES, "chat_templates")
OUT = os.path.join(FIXTURES, "chat_templates.json")
SMOLLM2 = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

FIXED_NOW = datetime(2025, 3, 7, 9, 30, 5)

# Special tokens of each model (tokenizer_config.json bos_token / eos_token; Qwen2.5 has no bos token).
TEMPLATES = {
    "chatml": ("<s>", "<|im_end|>"),
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": ("", "<|im_end|>"),
    "mistral": ("<s>", "</s>"),
    "gemma2": ("<bos>", "<eos>"),
    "phi3": ("<s>", "<|endoftext|>"),
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
        "return": {"type": "number", "description": "Temperature"},
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current local time as \"HH:MM\".",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": []},
    },
}

# Each conversation: messages, tools (None = not passed), extra template variables.
CONVERSATIONS = {
    "single": {
        "messages": [{"role": "user", "content": "Hello! What's 2+2?"}],
    },
    "system_single": {
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Name a primary color."},
        ],
    },
    "multi": {
        "messages": [
            {"role": "user", "content": "Translate 'cat' to French."},
            {"role": "assistant", "content": "  chat \n"},
            {"role": "user", "content": "And 'coffee'? Answer with \"quotes\"."},
            {"role": "assistant", "content": "\"café\" ☕ — done."},
        ],
    },
    "system_multi": {
        "messages": [
            {"role": "system", "content": "\n  Be kind.\tAlways.  \n"},
            {"role": "user", "content": "Line one\nLine two\n\n"},
            {"role": "assistant", "content": "Two lines {{ not jinja }} {% raw %}"},
            {"role": "user", "content": "Thanks 🙏"},
        ],
        "extra": {"date_string": "15 Jan 2025"},
    },
    "bad_alternation": {
        "messages": [
            {"role": "user", "content": "First"},
            {"role": "user", "content": "Second"},
        ],
    },
    "tools": {
        "messages": [
            {"role": "system", "content": "You can call tools."},
            {"role": "user", "content": "What's the weather in Zürich?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call12345",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 21.5}"},
            {"role": "assistant", "content": "It is 21.5 °C in Zürich."},
            {"role": "user", "content": "And the time?"},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
    },
    "builtin_tools": {
        "messages": [
            {"role": "user", "content": "Search the web for Swift 6."},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call67890",
                        "type": "function",
                        "function": {"name": "brave_search", "arguments": {"query": "Swift 6 release"}},
                    }
                ],
            },
            {"role": "ipython", "content": {"results": ["swift.org", 6, 1.5, True, None]}},
        ],
        "extra": {"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]},
    },
}


# Small templates that pin down the interpreter's Jinja semantics one feature at a time. Each is rendered
# with SNIPPET_CONTEXT plus messages=SNIPPET_MESSAGES, tools=None, documents=None,
# add_generation_prompt=False, bos_token="<s>", eos_token="</s>" (what ChatTemplate.render passes).
SNIPPET_MESSAGES = [
    {"role": "system", "content": "Sys"},
    {
        "role": "assistant",
        "tool_calls": [{"id": "abc123XYZ", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}],
    },
    {"role": "user", "content": "Hello there"},
]
SNIPPET_CONTEXT = {
    "xs": [1, 2, 3, 4],
    "d": {"b": 2, "a": 1},
    "m": {"role": "user", "content": "Hi", "tool_calls": [{"function": {"name": "lookup"}}]},
    "people": [
        {"name": "Al", "age": 41, "admin": True},
        {"name": "Bo", "age": 25, "admin": False},
        {"name": "Cy", "age": 33},
    ],
    "obj": {"b": 1, "a": [True, None, 2.5, "é<>&'"], "c": {"d": {}}},
    "name": "World",
}
SNIPPETS = {
    # whitespace control under trim_blocks + lstrip_blocks
    "ws_trim_blocks": "{% if true %}\nA\n{% endif %}\nB",
    "ws_lstrip_blocks": "  {% if true %}\n  x\n  {% endif %}\ny\n    {# note #}\nz",
    "ws_dash": "a  \n  {{- 'b' -}}  \n  c {%- if true -%} d {%- endif -%}  e",
    "ws_plus": "  {%+ if true %}x{% endif +%}\ny",
    "ws_comments": "a\n  {# c #}\nb {#- c -#} c",
    "ws_variable_not_lstripped": "  {{ 'v' }}\n  {{- 'w' }}",
    "ws_raw": "{% raw %}{{ x }}{% endraw %}|  {% raw -%}  {{y}} {%- endraw %}|",
    "ws_trailing_newline": "x\n",
    "ws_crlf": "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n",
    # loops
    "loop_vars": "{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
    "{{ loop.first }}{{ loop.last }}{{ loop.length }}{% if not loop.first %}{{ loop.previtem }}{% endif %}"
    "{% if not loop.last %}{{ loop.nextitem }}{% endif %};{% endfor %}",
    "loop_filter_else": "{% for x in xs if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}"
    "|{% for x in [] %}{% else %}empty{% endfor %}",
    "loop_cycle_break": "{% for x in range(6) %}{% if x == 4 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}"
    "{% endif %}{{ loop.cycle('a','b') }}{{ x }}{% endfor %}",
    "loop_scope": "{% set x = 0 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}"
    "{% for i in [1] %}{% set y = 5 %}{% endfor %}[{{ y }}]{% if true %}{% set z = 6 %}{% endif %}{{ z }}",
    "loop_unpack": "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for a, b in [[1,2],[3,4]] %}{{ a + b }}"
    "{% endfor %}{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}{% for k, v in d|dictsort %}{{ k }}{% endfor %}",
    "loop_over_dict_and_string": "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %}",
    "loop_nested": "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a * b }} {% endfor %}{{ loop.index }}|{% endfor %}",
    # assignments, namespaces, macros, blocks
    "namespace": "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}"
    "{% set ns.found = true %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}",
    "namespace_reverse_scan": "{%- set ns = namespace(last=-1) %}{%- for m in messages[::-1] %}"
    "{%- set i = (messages|length - 1) - loop.index0 %}{%- if ns.last == -1 and m.role == 'user' %}"
    "{%- set ns.last = i %}{%- endif %}{%- endfor %}{{ ns.last }}",
    "set_block_and_tuple": "{% set x %}Hello {{ name }}{% endset %}[{{ x|upper }}]{% set a, b = 1, 2 %}{{ a }}{{ b }}"
    "{% set l = [1, 2,] %}{{ l }}",
    "macro": "{% macro greet(who, punct='!') %}Hi {{ who }}{{ punct }}{% endmacro %}{{ greet('A') }} "
    "{{ greet('B', punct='?') }} {{ greet(who='C') }} {{ greet() }}|{% macro m2() %}{{ name }}{% endmacro %}{{ m2() }}",
    "blocks": "{% filter upper %}abc {{ 'd' }}{% endfilter %}|{% with a = 2, b = 3 %}{{ a * b }}{% endwith %}"
    "|{% generation %}gen{% endgeneration %}|{% if 1 %}one{% elif 2 %}two{% else %}many{% endif %}"
    "{% for n in [2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}{% endfor %}",
    # expressions
    "literals": "{{ 1 }} {{ 1.5 }} {{ 1e3 }} {{ 1_000 }} {{ -2 }} {{ 'it\\'s' }} {{ \"q\\\"\" }} {{ 'a\\nb' }} {{ true }} "
    "{{ True }} {{ False }} {{ none }} {{ None }} {{ [1, 'a', none, true, 1.0] }} {{ {'k': 'v', 'n': [1]} }} "
    "{{ 'a' 'b' }} {{ \"\\u00e9\\x41\\101\\q\" }}",
    "arithmetic": "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} "
    "{{ 1 + 2.5 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 'a' ~ 1 ~ none ~ true }} {{ 10 - 3 * 2 }} {{ (10 - 3) * 2 }} "
    "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 / 4 * 2 }} {{ 1 - -1 }} {{ true + true }}",
    "comparisons": "{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1,2] == [1,2] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} "
    "{{ 'ab' in 'cabd' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ none == none }} "
    "{{ true == 1 }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ [1, 2] < [1, 3] }} {{ 'B' < 'a' }} {{ 2 >= 2.0 }}",
    "logic": "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not none }} {{ '' or [] or 'z' }} {{ 'a' if 0 else 'b' }} "
    "{{ 'c' if 1 }} [{{ 'd' if 0 }}] {{ not 1 == 2 }} {{ not xs|length == 4 }} {{ 1 if 0 else 2 if 0 else 3 }}",
    "slices": "{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[-1] }} [{{ xs[10] }}] "
    "{{ 'hello'[-2:] }} {{ xs[5:1:-1] }} {{ xs[-100:100] }} {{ 'héllo'[1] }} {{ xs[1:3][0] }} {{ xs.0 }}",
    "attributes_items": "{{ m.role }} {{ m['content'] }} [{{ m.missing }}] {{ m['missing'] is defined }} "
    "{{ m.tool_calls[0].function.name }} {{ m.get('role') }} {{ m.get('x', 'dflt') }} {{ m.keys()|join(',') }} "
    "{{ m.values()|length }} {{ m.items()|length }} {{ 'tool_calls' in m }} {{ m['items'] is callable }}",
    "undefined": "[{{ foo }}] {{ foo is defined }} {{ foo is undefined }} {{ foo|length }} {{ foo|default('d') }} "
    "{{ foo ~ 'x' }} {{ not foo }} {% for x in foo %}x{% else %}empty{% endfor %} {{ 'x' in foo }} {{ foo == foo }} "
    "[{{ foo|trim }}] {{ foo|string == '' }} {{ foo is none }} {{ foo|list }} [{{ m.nothing|upper }}] {{ foo is string }}",
    "tests": "{{ 'a' is string }} {{ 1 is number }} {{ 1.0 is float }} {{ 1 is integer }} {{ true is boolean }} "
    "{{ true is integer }} {{ true is number }} {{ {} is mapping }} {{ [] is iterable }} {{ 'x' is iterable }} "
    "{{ 1 is iterable }} {{ none is none }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} "
    "{{ 'a' is equalto 'a' }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 2 is ne 2 }} {{ 'A' is upper }} {{ 'a' is lower }} "
    "{{ 1 is in [1] }} {{ none is sameas none }} {{ x is not none }} {{ 'up' is callable }} {{ range is callable }} "
    "{{ m.get is callable }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 'x' is sequence }} "
    "{{ 'trim' is filter }} {{ 'odd' is test }} {{ 1 is lt(2) }} {{ 1 is le 1 }} {{ 3 is ge 4 }}",
    "filters_text": "{{ '  hi  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'Hello'|upper }}|{{ 'Hello'|lower }}|"
    "{{ 'hello WORLD'|capitalize }}|{{ 'hello-world foo(bar o\\'neil'|title }}|{{ 'abab'|replace('b', 'c') }}|"
    "{{ 'abab'|replace('b', 'c', 1) }}|{{ 'abc'|length }}|{{ 'é☕'|length }}|{{ 'a b  c'|wordcount }}|"
    "{{ 'x'|center(6) }}|{{ '<a href=\"x\">&\\''|e }}|{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|"
    "{{ 'a\\n\\nb'|indent(3, blank=true) }}|{{ 5|string ~ 'x' }}|{{ none|string }}|{{ [1]|safe }}|{{ 'ß'|upper }}",
    "filters_lists": "{{ [3,1,2]|sort }} {{ ['b','A','c']|sort }} {{ ['b','A','c']|sort(case_sensitive=true) }} "
    "{{ [3,1,2]|sort(reverse=true) }} {{ [1,2,2,1]|unique|list }} {{ ['a','A','b']|unique|list }} {{ [1,2,3]|first }} "
    "{{ [1,2,3]|last }} {{ 'abc'|first }} {{ [1,2]|join('-') }} {{ [1,2,3]|sum }} {{ [1,5,2]|max }} {{ [4,2,8]|min }} "
    "{{ [1,2,3]|reverse|list }} {{ 'abc'|reverse }} {{ 'ab'|list }} {{ [1,2]|count }} {{ xs|select('odd')|list }} "
    "{{ xs|reject('odd')|list }} {{ [0,1,'',none,'a']|select|list }} {{ xs|select('gt', 2)|list }} "
    "{{ d|list }} {{ d|first }} {{ []|first is defined }} {{ ['x', 'Y']|map('upper')|join }} {{ [[1,2],[3]]|map('length')|list }}",
    "filters_attributes": "{{ people|map(attribute='name')|join(', ') }} "
    "{{ people|selectattr('age', 'gt', 30)|map(attribute='name')|list }} "
    "{{ people|rejectattr('admin')|map(attribute='name')|list }} {{ people|selectattr('admin')|list|length }} "
    "{{ people|sort(attribute='age')|map(attribute='name')|join }} {{ people|map(attribute='admin', default='?')|list }} "
    "{{ people|sum(attribute='age') }} {{ people|selectattr('name', 'equalto', 'Bo')|first }} "
    "{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|map(attribute='role')|unique|join('/') }} "
    "{{ people|max(attribute='age') }} {{ people|map(attribute='name')|map('lower')|join }} "
    "{{ messages|selectattr('tool_calls', 'defined')|map(attribute='tool_calls.0.function.name')|first }} "
    "{{ people|attr('name') is defined }} {{ d|attr('items') is callable }}",
    "filters_numbers": "{{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(2) }} {{ 2.1|round(0, 'ceil') }} "
    "{{ 2.9|round(method='floor') }} {{ 3|round }} {{ '42'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} "
    "{{ 'ff'|int(base=16) }} {{ 3|float }} {{ '2.5'|float }} {{ 'y'|float }} {{ -3|abs }} {{ 3.7|int }} {{ true|int }}",
    "filters_default": "{{ none|default('d') }} [{{ ''|default('d') }}] {{ ''|default('d', true) }} "
    "{{ 0|d('z', true) }} {{ x|default(5) }} {{ false|default('no') }} {{ m.nope|default('fallback') }}",
    "tojson": "{{ obj|tojson }}\n{{ obj|tojson(indent=2) }}\n{{ obj|tojson(sort_keys=true) }}\n"
    "{{ obj|tojson(separators=(',', ':')) }}\n{{ obj|tojson(ensure_ascii=true) }}\n{{ obj|tojson(indent='\\t') }}\n"
    "{{ 'a\"b\\\\c\\n\\t\\u0001é\\u2028😀'|tojson }} {{ 'é😀'|tojson(ensure_ascii=true) }}\n"
    "{{ [1.0, 1e20, 1e-7, 0.1, -0.0, 123456789012345678, 1e16, 1e15, 2.5e-5, 100.0]|tojson }}\n"
    "{{ {}|tojson }} {{ []|tojson(indent=4) }} {{ [[]]|tojson(indent=1) }} {{ none|tojson }} {{ true|tojson }} "
    "{{ messages[1].tool_calls[0].function.arguments|tojson }} {{ xs|tojson(indent=0) }}",
    "string_methods": "{{ '  a b '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|"
    "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|"
    "{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aBc'.upper() }}|{{ 'aBc'.lower() }}|"
    "{{ 'hello wORLD'.title() }}|{{ 'hello'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abc'.find('c') }}|"
    "{{ 'abc'.find('z') }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ ','.join(['x', 'y']) }}|{{ 'abcabc'.count('bc') }}|"
    "{{ '42'.isdigit() }}|{{ 'ab'.isalpha() }}|{{ 'x:y:z'.partition(':')|join('+') }}|{{ '7'.zfill(3) }}|"
    "{{ '<think>r</think>\\n\\nans'.split('</think>')[-1].lstrip('\\n') }}|{{ 'ab'.removeprefix('a') }}|"
    "{{ 'x'.center(5, '*') }}|{{ 'ab'.ljust(4, '.') }}|{{ '\\ta b'.split(none, 1) }}|{{ m.content.endswith('i') }}",
    "globals": "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(3, 0, -1)|list }} {{ dict(a=1, b='x') }} "
    "{{ namespace(a=1).a }} {{ namespace(d).b }} {{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %B %j %I%p %y %e|%-d|%%') }} "
    "{{ strftime_now('%d %b %Y') }} {{ raise_exception is defined }} {{ strftime_now is defined }}",
    "percent_format": "{{ '%s and %d' % ('a', 1) }}|{{ '%5.2f|%-4s|%04d|%x|%r|%+d|%.3s|%e' % (3.14159, 'ab', 42, 255, 'q', 5, 'abcdef', 12345.678) }}"
    "|{{ 'v=%s' % xs }}|{{ '%(name)s!' % {'name': 'N'} }}|{{ '100%%' % () }}|{{ '%s' % none }}|{{ '%5s|%-5d|' % ('x', 7) }}",
    "repr_printing": "{{ ['it\\'s', \"q\\\"\", 'a\\nb', 'é', '\\x00\\x7f', 'x\\\\y', \"both'\\\"\"] }} {{ {'k': none} }} "
    "{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ 123.0 }} {{ -0.0 }} {{ 1/3 }} {{ 2**62 }} "
    "{{ namespace(a=[1]) }} {{ messages[0] }}",
    # errors: the message must match Python's
    "error_raise": "{% for m in messages %}{% if m.role == 'user' %}{{ raise_exception('Bad role: ' ~ m.role) }}{% endif %}{% endfor %}",
    "error_undefined_attribute": "{{ foo.bar }}",
    "error_undefined_add": "{{ m.content + m.missing }}",
    "error_concat_int": "{{ 'a' + 1 }}",
    "error_compare": "{{ 1 < 'a' }}",
    "error_none_add": "{{ none + 1 }}",
    "error_nested_undefined": "{{ m.nothing.deeper }}",
    "error_call_undefined": "{{ nothing() }}",
    "error_tojson_undefined": "{{ foo|tojson }}",
    "error_not_iterable": "{% for x in 5 %}{% endfor %}",
    "error_division": "{{ 1 / 0 }}",
    "error_items_not_mapping": "{{ xs|items|list }}",
    "error_percent_type": "{{ '%d' % 'x' }}",
    "error_percent_arguments": "{{ '%s %s' % ('a',) }}",
}


def render_snippet(source):
    env_template = ctu._compile_jinja_template(source)
    return env_template.render(
        messages=SNIPPET_MESSAGES, tools=None, documents=None, add_generation_prompt=False,
        bos_token="<s>", eos_token="</s>", **SNIPPET_CONTEXT)


class FixedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def render(source, conv, add_generation_prompt, bos, eos):
    kwargs = dict(conv.get("extra", {}))
    kwargs.update(bos_token=bos, eos_token=eos)
    rendered, _ = ctu.render_jinja_template(
        conversations=[conv["messages"]],
        tools=conv.get("tools"),
        documents=None,
        chat_template=source,
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )
    return rendered[0]


def smollm2_template():
    import gguf

    reader = gguf.GGUFReader(SMOLLM2)
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def main():
    ctu.datetime = FixedDatetime
    sources = {}
    for name in TEMPLATES:
        with open(os.path.join(TEMPLATE_DIR, name + ".jinja"), encoding="utf-8", newline="") as f:
            sources[name] = f.read()
    if os.path.exists(SMOLLM2):
        if smollm2_template() != sources["smollm2"]:
            sys.exit("smollm2.jinja differs from the GGUF's tokenizer.chat_template")
        print("smollm2.jinja matches the GGUF's tokenizer.chat_template")
    else:
        print(f"warning: {SMOLLM2} missing; smollm2.jinja not re-checked against the GGUF", file=sys.stderr)

    cases = []
    for name, (bos, eos) in TEMPLATES.items():
        for conv_name, conv in CONVERSATIONS.items():
            for agp in (False, True):
                case = {"template": name, "conversation": conv_name, "add_generation_prompt": agp}
                try:
                    case["output"] = render(sources[name], conv, agp, bos, eos)
                except Exception as e:  # the template's own raise_exception, or a Jinja/Python error
                    case["error"] = {"type": type(e).__name__, "message": str(e)}
                cases.append(case)

    snippets = []
    for name, source in SNIPPETS.items():
        case = {"name": name, "template": source}
        try:
            case["output"] = render_snippet(source)
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        snippets.append(case)

    out = {
        "reference": "transformers.utils.chat_template_utils.render_jinja_template",
        "versions": {
            "python": sys.version.split()[0],
            "transformers": version("transformers"),
            "jinja2": version("jinja2"),
        },
        "fixed_now": FIXED_NOW.isoformat(),
        "templates": {
            name: {"file": f"chat_templates/{name}.jinja", "bos_token": bos, "eos_token": eos}
            for name, (bos, eos) in TEMPLATES.items()
        },
        "conversations": {
            name: {
                "messages": conv["messages"],
                "tools": conv.get("tools"),
                "extra": conv.get("extra", {}),
            }
            for name, conv in CONVERSATIONS.items()
        },
        "cases": cases,
        "snippet_context": SNIPPET_CONTEXT,
        "snippet_messages": SNIPPET_MESSAGES,
        "snippets": snippets,
    }
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {OUT}: {len(cases)} cases ({errors} raise), {os.path.getsize(OUT)} bytes")
    for c in snippets:
        print(f"  snippet {c['name']}: " + (repr(c["output"])[:150] if "output" in c else f"{c['error']['type']}: {c['error']['message']}"))
    for c in cases:
        if "error" in c:
            print(f"  {c['template']:9} {c['conversation']:15} agp={c['add_generation_prompt']!s:5} "
                  f"{c['error']['type']}: {c['error']['message']}")


if __name__ == "__main__":
    main()
