"""The Streamlit review app: pages as thin views over the library (see app.py)."""
