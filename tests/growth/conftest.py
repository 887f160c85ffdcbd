"""The growth tests run with growth's hooks registered (referral rewards on sign-up): the root
conftest's ``domain_hooks`` registers them for every test, as the app does at start."""
