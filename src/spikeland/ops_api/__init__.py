"""The HTTP side of operations: error reports and the error log, feedback, tracked URLs and the
sitemap — public routes and their admin routes.

The services live in ``ops`` (below identity: identity audits and mails through it) and, for
tracked URLs, ``analytics`` (their table's domain); their routes need identity's auth and, for the
sitemap, the gallery, so they sit here, above the domains (as ``share_api`` does).
"""
