"""Flask extensions, created here and initialised once in the app factory."""

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from engine.models import Base

db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
api = Api()
migrate = Migrate()  # `kia db upgrade|current|heads|revision ...`: the revisions in migrations/
