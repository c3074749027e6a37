"""Wallet accounts: EIP-4361 login messages, EIP-191 signature recovery, users."""
