"""The WhatsApp channel: the Cloud API gateway, webhook parsing and the guided conversation.

Nothing here imports Flask; ``api/whatsapp.py`` is the thin webhook blueprint.
"""
