"""What the web app needs besides the page: who may use it (users.py) and how many questions it
answers at once (gate.py). Standard library only; nothing here imports gradio, qa or index."""
