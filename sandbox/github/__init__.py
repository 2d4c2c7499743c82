"""A sandbox of the GitHub REST API calls the connector's GitHub App makes (installation tokens, answers
to custom deployment protection rules), as strict as GitHub is about them."""
