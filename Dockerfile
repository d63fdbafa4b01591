# The Airflow image for `astro dev start` and Astro deployments (Astro Runtime 3.3 = Airflow 3.3,
# the Python 3.11 distribution, matching uv.lock). Astro installs requirements.txt on build.
FROM astrocrpublic.azurecr.io/runtime:3.3-2-python-3.11

# The domain library lives in include/equity_lake; make it importable as `equity_lake`.
ENV PYTHONPATH=/usr/local/airflow/include:/usr/local/airflow/plugins:${PYTHONPATH}
