#!/usr/bin/env python3
"""Golden token ids for Tailor's tokenizer (SPEC.md §7).

Writes, under Tests/TailorKitTests/Fixtures/:

  tokenizer_smollm2.json  byte-level BPE ("gpt2", pre "smollm"), from models/SmolLM2-135M-Instruct.Q4_1.gguf
  tiny-spm.gguf.bin       a tensor-less GGUF holding only a SentencePiece-BPE ("llama") vocabulary
  tokenizer_spm.json      golden ids for that vocabulary
  pretokenizer_splits.json  the words `tokenizers` splits each text into, per pre-tokenizer (gpt2, smollm,
                          llama3, qwen2), for checking Tailor's hand-written splitters regex by regex

Each JSON file is {"reference": ..., "versions": {...}, "cases": [...], "decode_cases": [...]}:
  cases         {"text", "ids", "decoded"[, "parse_special": false]}: ids = encode(text, add_special_tokens=False),
                decoded = decode(ids) with special tokens kept and no clean-up of spaces.
  decode_cases  {"ids", "skip_special", "text"}: decode of id lists that need not come from encode
                (a UTF-8 character cut between tokens must become U+FFFD, special tokens dropped).

Byte-level reference: transformers' own GGUF loader, AutoTokenizer.from_pretrained(models/, gguf_file=...).
That loader has no entry for tokenizer.ggml.pre = "smollm", so it falls back to GPT-2's ByteLevel regex
alone. The model's tokenizer.json (HuggingFaceTB/SmolLM2-*) and llama.cpp (llama-vocab.cpp, PRE_TYPE_SMOLLM:
regex list ["\\p{N}", gpt-2 regex]) both split every digit off first:
Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)]. The two disagree
only on whitespace followed by a digit ("a  1": Ġ Ġ 1 vs ĠĠ 1) -- the merges hold no digit, so digits
themselves always end up single. The golden uses the model's own pre-tokenizer, set on the GGUF-loaded
tokenizer; the ids where plain transformers differs are printed when this script runs.

SentencePiece reference: a BPE model trained here with the `sentencepiece` package (seeded, on the text in
TRAIN_TEXT, identity normalization, byte fallback), written to GGUF with gguf-py the way llama.cpp's
convert_hf_to_gguf.py writes a SentencePiece vocabulary. Golden ids are sentencepiece's own encode of each
text (what llama.cpp's llm_tokenizer_spm ports); the script also loads the GGUF through transformers'
GGUF loader and prints where it disagrees. It agrees except on text that starts with a space (its Metaspace
adds no dummy prefix when the text already starts with one; sentencepiece and llama.cpp always add it) and on
`<s>`/`</s>` in text, which sentencepiece reads as characters. With parse_special the golden follows llama.cpp
instead (see SPM_SPECIAL).

transformers' GGUF tokenizer path reads only metadata, but its reader module imports torch and its config
step checks for it. PyTorch is not installed in the reference venv (none of its wheels are reachable here),
so a stand-in `torch` module is placed in sys.modules before that import; no tensor is ever touched.

Reference venv (git-ignored):
  python3 -m venv .venv-tok && .venv-tok/bin/pip install transformers gguf tokenizers sentencepiece numpy protobuf
Run:
  .venv-tok/bin/python scripts/golden/tokenizer.py
"""
import json
import os
import sys
import tempfile
import types
from importlib.metadata import version

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures")
MODELS = os.path.join(ROOT, "models")
SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
SPM_GGUF = os.path.join(FIXTURES, "tiny-spm.gguf.bin")
SEED = 20240601

PARAGRAPH = (
    "The history of computing is a story of abstraction layered upon abstraction. Early machines were "
    "programmed by physically rewiring circuits; later, stored-program computers let instructions live in "
    "memory alongside data. Assembly languages gave mnemonic names to opcodes, and compilers -- first for "
    "FORTRAN in 1957, then for COBOL, ALGOL and Lisp -- translated something closer to mathematics into "
    "machine code. Each layer hid details that had once demanded attention: registers, memory addresses, "
    "calling conventions, garbage collection. Today a programmer can write a few lines of Python that "
    "download a web page, parse its HTML, and train a small neural network on what it finds, without "
    "knowing how a single transistor switches. Yet the layers leak. A cache miss costs 100x more than an "
    "addition; a floating-point sum depends on the order of its terms (0.1 + 0.2 != 0.3); a string that "
    "looks like one character may be five code points. Good engineers learn to peer through the "
    "abstractions when it matters, and to trust them when it does not. Tokenizers are a fine example: "
    "they turn text into integers, and most of the time nobody thinks about them at all -- until a model "
    "cannot count the r's in \"strawberry\", or spends 3 tokens on a single emoji 🧪, or treats \" hello\" "
    "and \"hello\" as entirely different words. Understanding the byte-pair encoding underneath explains "
    "all of these quirks. It starts from bytes, repeatedly merges the most frequent adjacent pair, and "
    "records each merge in order; encoding replays those merges by rank. Simple, fast, and surprisingly "
    "effective across English, Deutsch, français, español, 中文, 日本語 and 한국어 alike."
)

PYTHON = '''def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


if __name__ == "__main__":
    print([fib(i) for i in range(10)])  # [0, 1, 1, 2, 3, ...]
'''

SWIFT = """struct Point: Equatable {
    var x, y: Double

    static func + (lhs: Point, rhs: Point) -> Point {
        Point(x: lhs.x + rhs.x, y: lhs.y + rhs.y)
    }
}

let total = [Point(x: 1, y: 2), Point(x: 3.5, y: -4)].reduce(Point(x: 0, y: 0), +)
print("total = \\(total)")
"""

JSON_TEXT = '{"name": "tailor", "version": "0.1.0", "lr": 2e-4, "layers": [0, 1, 2], "ok": true, "none": null}'

CHAT = (
    "<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n"
    "<|im_start|>user\nWhat's 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n2 + 2 = 4.<|im_end|>\n"
)

COMMON = [
    "",
    " ",
    "Hello world",
    " Hello world",
    "Hello world  ",
    "   three leading spaces",
    "multiple     internal      spaces",
    "tabs\tand\ttabs\t\tdouble\t",
    "line one\nline two\n\nline four\r\nwindows\n",
    "\n\n\n",
    "  \n  \t \n",
    PYTHON,
    SWIFT,
    JSON_TEXT,
    "1234567",
    "3.14159",
    "1,000,000 and 42 apples cost $3.50 (about €3.20)",
    "a  1 b\n 2 c \t3  45\n\n678",
    "Phone +1 (555) 010-9999, year 2024, 0x1F, 1e-9, ½ ² ٣",
    "café naïve Ångström résumé",
    "Größenwahn und Übermut: Die Straße ist schön.",
    "L'élève a dû aller à l'hôpital ; où est-ce qu'il est ?",
    "¿Dónde está la biblioteca? ¡Mañana será otro día!",
    "我爱自然语言处理。今天天气很好！",
    "日本語のテキストとカタカナ、ひらがな。",
    "안녕하세요, 세계! 한국어 텍스트입니다.",
    "مرحبا بالعالم، كيف حالك؟",
    "Привет, мир! Как дела?",
    "नमस्ते दुनिया",
    "สวัสดีครับ",
    "I love 🦙 and 🐍 😀👍🏽",
    "Family: 👨‍👩‍👧‍👦 and 🏳️‍🌈 and 👩🏾‍💻",
    "🇺🇸🇯🇵🇫🇷 flags",
    "it's don't they're we've I'm you'll he'd",
    "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
    "John's book isn't here; the dogs' bowls'",
    "'s 'S 'tis ''quoted''",
    "https://example.com/path/to/page?query=1&lang=en#frag",
    "Email jane.doe@example.org -- **bold** _it_ `code` <b>html</b>",
    "Wait... what?!?! --- (really) [yes] {no} <maybe>",
    "non\u00a0breaking\u2003em\u3000ideographic space",
    "zero\u200bwidth and soft\u00adhyphen",
    "e\u0301 vs \u00e9",
    # Canonically equivalent but different bytes: Kelvin/K, Angstrom/Å, Ohm/Ω, decomposed/precomposed é.
    "\u212a vs K, \u212b vs \u00c5, \u2126 vs \u03a9, cafe\u0301 vs caf\u00e9",
    "∑_{i=1}^{n} i² = n(n+1)/2, α→β, ∞",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
    "SGVsbG8gV29ybGQhIFRoaXMgaXMgYSBsb25nIGJhc2U2NCBzdHJpbmcgZm9yIHRlc3Rpbmc=",
    " " * 60 + "x" + "\n" * 55 + "y" + "=" * 70,
    "bell\x07 nul\x00 del\x7f",
    PARAGRAPH,
]

SMOLLM2_ONLY = [
    CHAT,
    "<|endoftext|><|im_start|>x<|im_end|><|endoftext|>",
    "<|im_start|  <|im_start|>> <|im_end",
    "text before<|im_start|>user and after",
]

# Strings for parse_special=False (HF: split_special_tokens=True): special tokens are plain text.
SMOLLM2_NO_SPECIAL = [CHAT, "<|endoftext|> and <|im_start|>"]

TRAIN_TEXT = [
    PARAGRAPH,
    PYTHON,
    SWIFT,
    JSON_TEXT,
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away into the forest.",
    "She sells sea shells by the sea shore. The shells she sells are surely seashells.",
    "A journey of a thousand miles begins with a single step, and every step counts toward the goal.",
    "In the beginning the universe was created. This has made a lot of people very angry and been widely "
    "regarded as a bad move.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity.",
    "Training a language model needs data, compute, patience, and a tokenizer that never loses a byte.",
    "We fine-tune the attention and feed-forward layers with low-rank adapters; the base weights stay frozen.",
    "    indented line with four spaces\n\ttabbed line\n        eight spaces here\n",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14 42.",
    "café résumé naïve über straße français español",
]

SPM_ONLY = [
    "  two leading spaces and trailing  ",
    "byte fallback: 🦙🐍 ∮ ☃ ß 漢字 ᚠᛇᚻ",
    "the the the the the the the",
    "unbelievably antidisestablishmentarianism",
]


# SentencePiece with special tokens in the text. parse_special=False: sentencepiece reads them as text.
# parse_special=True follows llama.cpp (llama-vocab.cpp tokenizer_st_partition + the SPM branch of tokenize):
# control and unknown tokens are cut out of the text, longest first, and every remaining piece is encoded
# with the space prefix -- the first piece and each piece after a special token -- which is sentencepiece's
# own encode of that piece.
SPM_SPECIAL = ["<s> and </s> and <unk> are text here", "<s>hello</s> world<s>\nnext"]


# Extra texts for the split fixture: case-insensitive contractions, CR/LF runs, a non-ASCII letter after
# punctuation, U+017F (its case fold is "s").
SPLIT_ONLY = [
    "HELLO'S 'RE x'Ll we'VE 'D it\u017f",
    "a\r\n\r\n  b\n \n\tc  \r\n",
    "  \n\n  x\t\thello (\"hello\") ¿qué? ...\n\n",
    "1234567890 12 x1y22z333 ٣٤٥ ⅷ",
    "\u3000全角\u3000space  ",
]

GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def splits():
    """Pre-tokenizer words from `tokenizers` itself (Split(..., "isolated"); Digits for smollm)."""
    from tokenizers import Regex, pre_tokenizers
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

    def split(pattern):
        return pre_tokenizers.Split(Regex(pattern), behavior="isolated")

    rules = {
        "gpt-2": split(GPT2_SPLIT),
        "smollm": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), split(GPT2_SPLIT)]),
        "llama-bpe": split(GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"]),
        "qwen2": split(GGUF_PRE_TOKENIZER_SPLITS["qwen2"]),
    }
    texts = COMMON + SMOLLM2_ONLY + SPLIT_ONLY
    payload = {
        "reference": "tokenizers pre_tokenize_str; regexes as in Sources/TailorKit/Tokenizer/PreTokenizer.swift",
        "versions": versions(),
        "texts": texts,
        "splits": {name: [[w for w, _ in rule.pre_tokenize_str(t)] for t in texts] for name, rule in rules.items()},
    }
    write_json("pretokenizer_splits.json", payload)


def stub_torch():
    """transformers' GGUF reader imports torch at module level; nothing on the tokenizer path uses it."""
    import transformers  # noqa: F401 -- decides "no torch" before the stand-in exists
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    class Anything:
        def __init__(self, name):
            self.name = name

        def __getattr__(self, key):
            return Anything(f"{self.name}.{key}")

        def __call__(self, *args, **kwargs):
            return Anything(f"{self.name}()")

        def __or__(self, other):
            return self

        __ror__ = __or__

        def __getitem__(self, key):
            return self

        def __mro_entries__(self, bases):
            return (object,)

    class Torch(types.ModuleType):
        def __getattr__(self, key):
            return Anything(f"torch.{key}")

    if "torch" not in sys.modules:
        sys.modules["torch"] = Torch("torch")
    gguf_utils.is_torch_available = lambda: True


def write_json(name, payload):
    path = os.path.join(FIXTURES, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def versions():
    return {p: version(p) for p in ("transformers", "tokenizers", "gguf", "sentencepiece")}


def smollm2():
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=SMOLLM2)
    plain = AutoTokenizer.from_pretrained(MODELS, gguf_file=SMOLLM2)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )

    def decode(ids, skip=False):
        return tok.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=False)

    cases = []
    for text in COMMON + SMOLLM2_ONLY:
        ids = tok.encode(text, add_special_tokens=False)
        other = plain.encode(text, add_special_tokens=False)
        if ids != other:
            print(f"smollm2: plain transformers GGUF differs on {text[:40]!r}: {other} vs {ids}")
        cases.append({"text": text, "ids": ids, "decoded": decode(ids)})
        assert decode(ids) == text, text
    for text in SMOLLM2_NO_SPECIAL:
        ids = tok.encode(text, add_special_tokens=False, split_special_tokens=True)
        cases.append({"text": text, "ids": ids, "decoded": decode(ids), "parse_special": False})

    llama = tok.encode("🦙", add_special_tokens=False)
    chat = tok.encode(CHAT, add_special_tokens=False)
    decode_cases = [
        {"ids": chat, "skip_special": True},
        {"ids": llama[:-1], "skip_special": False},
        {"ids": llama[:-1] + tok.encode(" ok", add_special_tokens=False), "skip_special": False},
        {"ids": llama[1:], "skip_special": False},
        {"ids": [1, 2, 0], "skip_special": True},
    ]
    for case in decode_cases:
        case["text"] = decode(case["ids"], case["skip_special"])
    write_json(
        "tokenizer_smollm2.json",
        {
            "reference": f"transformers AutoTokenizer gguf_file={SMOLLM2}, pre_tokenizer set to the model's "
            "Sequence[Digits(individual_digits=True), ByteLevel] (see scripts/golden/tokenizer.py)",
            "versions": versions(),
            "cases": cases,
            "decode_cases": decode_cases,
        },
    )


def train_spm(workdir):
    import sentencepiece as spm

    corpus = os.path.join(workdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for text in TRAIN_TEXT:
            for line in text.split("\n"):
                if line.strip():
                    f.write(line + "\n")
    prefix = os.path.join(workdir, "tiny")
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=prefix,
        model_type="bpe",
        vocab_size=800,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        split_digits=True,
        hard_vocab_limit=False,
        num_threads=1,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def write_spm_gguf(sp):
    """Tokenizer metadata as llama.cpp's convert_hf_to_gguf.py (_create_vocab_sentencepiece) writes it."""
    import gguf

    tokens, scores, types_ = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types_.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types_.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types_.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types_.append(gguf.TokenType.BYTE)
        else:
            types_.append(gguf.TokenType.NORMAL)
    w = gguf.GGUFWriter(SPM_GGUF, "llama")
    w.add_name("tiny-spm")
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_rope_dimension_count(4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types_)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    # transformers' config step wants one tensor; a 1x8 f32 keeps the file small.
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {SPM_GGUF} ({os.path.getsize(SPM_GGUF)} bytes, {len(tokens)} tokens)")


def spm_decode(sp, ids):
    return sp.decode(ids)


def spm():
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as workdir:
        sp = train_spm(workdir)
        write_spm_gguf(sp)
    hf = AutoTokenizer.from_pretrained(FIXTURES, gguf_file=os.path.basename(SPM_GGUF))

    cases = []
    disagreements = 0
    for text in COMMON + SPM_ONLY:
        ids = sp.encode(text)
        other = hf.encode(text, add_special_tokens=False)
        if ids != other:
            disagreements += 1
            print(f"spm: transformers GGUF differs on {text[:40]!r}:\n  hf {other}\n  sp {ids}")
        cases.append({"text": text, "ids": ids, "decoded": spm_decode(sp, ids)})
    print(f"spm: transformers agrees with sentencepiece on {len(cases) - disagreements}/{len(cases)}")
    specials = sorted(
        (i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)),
        key=lambda i: -len(sp.id_to_piece(i).encode()),
    )
    for text in SPM_SPECIAL:
        ids = sp.encode(text)
        cases.append({"text": text, "ids": ids, "decoded": spm_decode(sp, ids), "parse_special": False})
        ids, rest = [], text
        while rest:
            hits = [(rest.find(sp.id_to_piece(i)), n, i) for n, i in enumerate(specials) if sp.id_to_piece(i) in rest]
            if not hits:
                ids += sp.encode(rest)
                break
            at, _, special = min(hits)
            if at > 0:
                ids += sp.encode(rest[:at])
            ids.append(special)
            rest = rest[at + len(sp.id_to_piece(special)) :]
        cases.append({"text": text, "ids": ids, "decoded": None, "parse_special": True})

    llama = sp.encode("🦙")
    decode_cases = [
        {"ids": sp.encode("hello world"), "skip_special": False},
        {"ids": [sp.bos_id()] + sp.encode("hello") + [sp.eos_id()], "skip_special": True},
        {"ids": llama[:-1], "skip_special": False},
        {"ids": llama[:-1] + sp.encode(" ok"), "skip_special": False},
    ]
    for case in decode_cases:
        ids = [i for i in case["ids"] if not (case["skip_special"] and sp.is_control(i))]
        case["text"] = spm_decode(sp, ids)
    write_json(
        "tokenizer_spm.json",
        {
            "reference": "sentencepiece encode of the model tiny-spm.gguf.bin was written from "
            "(see scripts/golden/tokenizer.py)",
            "versions": versions(),
            "cases": cases,
            "decode_cases": decode_cases,
        },
    )


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    stub_torch()
    smollm2()
    spm()
    splits()


if __name__ == "__main__":
    main()
