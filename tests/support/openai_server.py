"""A small, real OpenAI-compatible HTTP server on localhost for tests: /v1/embeddings and
/v1/chat/completions, answered deterministically, with every request recorded."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import numpy as np


def hashed_embedding(text: str, dimensions: int) -> list[float]:
    """Bag of words hashed into `dimensions` buckets: texts sharing words are similar."""
    vector = np.zeros(dimensions, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "little") % dimensions] += 1 if digest[4] % 2 else -1
    norm = np.linalg.norm(vector)
    return (vector / norm if norm else vector + 1 / np.sqrt(dimensions)).tolist()


class OpenAIStandIn:
    def __init__(self, dimensions: int, answer: str) -> None:
        self.dimensions = dimensions
        self.answer = answer
        self.requests: list[dict] = []
        self.url = ""
        # Answer 500 to embedding requests once this many have succeeded (None: never).
        self.fail_after: int | None = None
        # Seconds to wait before answering a chat request (to exercise timeouts).
        self.chat_delay_s: float = 0.0
        # /rerank answers like Text Embeddings Inference ("tei") or Cohere/Jina ("cohere").
        self.rerank_format: str = "tei"
        # Embeddings come as base64 when asked, as from OpenAI; False answers floats whatever is asked,
        # as some servers do.
        self.honours_base64: bool = True


@contextmanager
def openai_server(dimensions: int = 64, answer: str = "Lighthouses use Fresnel lenses [1].") -> Iterator[OpenAIStandIn]:
    state = OpenAIStandIn(dimensions, answer)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream_chat(self, model: str, answer: str) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for word in answer.split(" "):
                chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": model,
                         "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            state.requests.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
            served = sum(r["path"] == "/v1/embeddings" for r in state.requests[:-1])
            if self.path == "/v1/embeddings" and state.fail_after is not None and served >= state.fail_after:
                self._reply(500, {"error": {"message": "stand-in outage", "type": "server_error"}})
            elif self.path == "/v1/embeddings":
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                base64_wanted = state.honours_base64 and body.get("encoding_format") == "base64"
                data = [
                    {"object": "embedding", "index": i,
                     "embedding": (base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
                                   if base64_wanted else vector)}
                    for i, vector in enumerate(hashed_embedding(text, state.dimensions) for text in inputs)
                ]
                self._reply(200, {"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}})
            elif self.path == "/v1/chat/completions" and body.get("stream"):
                time.sleep(state.chat_delay_s)
                self._stream_chat(body["model"], state.answer)
            elif self.path == "/v1/chat/completions":
                time.sleep(state.chat_delay_s)
                self._reply(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": state.answer}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })
            elif self.path == "/rerank":
                # Relevance = words shared with the query: a stand-in that is easy to reason about.
                query_words = set(re.findall(r"\w+", body["query"].lower()))
                texts = body.get("texts") or body.get("documents")
                scores = [len(query_words & set(re.findall(r"\w+", t.lower()))) / 10 for t in texts]
                ranked = sorted(range(len(texts)), key=lambda i: -scores[i])
                if state.rerank_format == "cohere":
                    self._reply(200, {"results": [{"index": i, "relevance_score": scores[i]} for i in ranked]})
                else:
                    self._reply(200, [{"index": i, "score": scores[i]} for i in ranked])
            else:
                self._reply(404, {"error": {"message": f"no route {self.path}"}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
