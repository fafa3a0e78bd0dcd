# Zoobot App on Hugging Face Spaces (Docker SDK), or any Docker host.
# CPU by default. For a GPU Space build with a CUDA base image, e.g.
#   docker build --build-arg BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime .
# (the install step below then keeps the image's CUDA build of torch).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Spaces run the container as uid 1000; files the app writes must belong to that user.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    ZOOBOT_HOSTED=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

COPY --chown=user . .
RUN pip install --no-cache-dir --user .

EXPOSE 7860
CMD ["zoobot-app", "--hosted", "--host", "0.0.0.0", "--port", "7860", "--runs-dir", "runs"]
