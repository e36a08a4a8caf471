"""The studio's pages, one router per step."""
