"""Simulated device fleet: patients, devices, clinical scenarios, faults and ground-truth labels.

See docs/firmware_sim.md. The core (plan, physiology, devices, faults,
firmware, engine) is pure; mqtt_fleet and runner are the IO drivers.
"""
