"""A simulated Kubernetes API server for the nodeops test lab.

This is a simulation, not kube-apiserver: an in-memory object store served
over HTTPS with aiohttp, speaking enough of the Kubernetes REST API (discovery,
CRUD, patch, watch, server-side tables, eviction) for kubectl, the official
``kubernetes`` Python client and kubernetes.core modules. Background tasks
simulate the scheduler, a few controllers, node lifecycle and a kubelet for
nodes marked as simulated. See docs/lab-apiserver.md.
"""
