"""Transactions: several resource writes applied atomically."""
